// Stands in for the Functions Node worker's `@azure/functions-core` module, so the app's unchanged `app.*` calls
// register here instead of "test mode". @azure/functions requires the module lazily and caches a failure for the
// whole process, so installCoreApi() must run before the app (or @azure/functions) is first loaded.
import Module from "node:module";

export const CORE_MODULE_NAME = "@azure/functions-core";

/** A binding in function metadata (RpcBindingInfo plus the trigger/binding options the library copies in). */
export interface RpcBindingInfo {
  type?: string;
  direction?: "in" | "out" | "inout";
  [option: string]: unknown;
}

export interface CoreFunctionMetadata {
  name: string;
  bindings: Record<string, RpcBindingInfo>;
  retryOptions?: unknown;
}

export type FunctionCallback = (...args: unknown[]) => unknown;

export interface RpcTypedData {
  string?: string;
  json?: string;
  bytes?: Uint8Array;
  int?: number;
  double?: number;
  http?: RpcHttpData;
}

export interface RpcHttpData {
  method?: string;
  url?: string;
  headers?: Record<string, string>;
  params?: Record<string, string>;
  body?: RpcTypedData;
  statusCode?: string;
  cookies?: unknown[];
}

export interface RpcParameterBinding {
  name: string;
  data?: RpcTypedData;
}

export interface RpcInvocationResponse {
  invocationId?: string;
  outputData?: RpcParameterBinding[];
  returnValue?: RpcTypedData | null;
}

/** What the worker hands the programming model for one invocation (CoreInvocationContext). */
export interface CoreInvocationContext {
  invocationId: string;
  request: { invocationId: string; functionId: string; inputData: RpcParameterBinding[] };
  metadata: CoreFunctionMetadata;
  state?: "invocation";
  log: (level: string, category: string, message: string) => void;
}

export interface InvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], handler: FunctionCallback): Promise<unknown>;
  getResponse(context: unknown, result: unknown): Promise<RpcInvocationResponse>;
}

export interface ProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreCtx: CoreInvocationContext): InvocationModel;
  getCapabilities?(capabilities: Record<string, string>): Promise<Record<string, string>>;
}

/** One registered function: the metadata the app declared, its handler, and its trigger binding. */
export interface RegisteredFunction {
  id: string;
  name: string;
  metadata: CoreFunctionMetadata;
  callback: FunctionCallback;
  triggerName: string;
  trigger: RpcBindingInfo;
  triggerType: string;
}

/** Everything the app registered through the core API. Function names are case-insensitive, as in the host. */
export class FunctionRegistry {
  programmingModel: ProgrammingModel | undefined;
  readonly functions = new Map<string, RegisteredFunction>();

  get(name: string): RegisteredFunction | undefined {
    return this.functions.get(name.toLowerCase());
  }

  byTriggerType(type: string): RegisteredFunction[] {
    const wanted = type.toLowerCase();
    return [...this.functions.values()].filter((fn) => fn.triggerType === wanted);
  }

  requireProgrammingModel(): ProgrammingModel {
    if (!this.programmingModel)
      throw new Error("the app never called setProgrammingModel (is @azure/functions loaded?)");
    return this.programmingModel;
  }

  register(metadata: CoreFunctionMetadata, callback: FunctionCallback): void {
    const name = metadata?.name;
    if (!name || typeof callback !== "function") throw new Error("registerFunction needs metadata.name and a callback");
    if (this.functions.has(name.toLowerCase())) throw new Error(`a function named "${name}" is already registered`);
    const triggerEntry = Object.entries(metadata.bindings ?? {}).find(([, b]) => /trigger$/i.test(b.type ?? ""));
    if (!triggerEntry) throw new Error(`function "${name}" has no trigger binding`);
    const [triggerName, trigger] = triggerEntry;
    this.functions.set(name.toLowerCase(), {
      id: `${this.functions.size + 1}`,
      name,
      metadata,
      callback,
      triggerName,
      trigger,
      triggerType: (trigger.type ?? "").toLowerCase(),
    });
  }
}

type Loader = (request: string, parent: unknown, isMain: boolean) => unknown;

/**
 * Serves `@azure/functions-core` to every require() in the process (a `Module._load` hook, as the worker does):
 * the four members @azure/functions calls. App hooks (app.hook.*) are refused: this host does not run them.
 * Returns a function that removes the hook.
 */
export function installCoreApi(
  registry: FunctionRegistry,
  log: (level: string, category: string, message: string) => void,
): () => void {
  const coreApi = Object.freeze({
    setProgrammingModel(model: ProgrammingModel): void {
      registry.programmingModel = model;
    },
    registerFunction(metadata: CoreFunctionMetadata, callback: FunctionCallback): void {
      registry.register(metadata, callback);
    },
    registerHook(name: string): never {
      throw new Error(`app.hook.${name}() is not supported by functions-host (it runs no hooks)`);
    },
    log,
  });
  const moduleWithLoad = Module as unknown as { _load: Loader };
  const original = moduleWithLoad._load;
  moduleWithLoad._load = function (this: unknown, request: string, parent: unknown, isMain: boolean): unknown {
    if (request === CORE_MODULE_NAME) return coreApi;
    return original.call(this, request, parent, isMain);
  };
  return () => {
    moduleWithLoad._load = original;
  };
}
