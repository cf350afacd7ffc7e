// Calls a registered function the way the Node worker does: through the app's programming model, with inputs as
// RPC typed data and a fresh context per call, returning the RPC response (app hooks are not run: see README).
import { randomUUID } from "node:crypto";
import type {
  CoreInvocationContext,
  FunctionRegistry,
  RegisteredFunction,
  RpcInvocationResponse,
  RpcParameterBinding,
  RpcTypedData,
} from "./captureRegistrations.js";

export type LogFunction = (level: string, category: string, message: string, functionName?: string) => void;

/** Supplies non-trigger input bindings (for example the durable client) for a function's invocation. */
export type InputBindingProvider = (fn: RegisteredFunction) => RpcParameterBinding[];

export class FunctionInvoker {
  private readonly inputProviders: InputBindingProvider[] = [];

  constructor(
    private readonly registry: FunctionRegistry,
    private readonly log: LogFunction,
  ) {}

  addInputBindingProvider(provider: InputBindingProvider): void {
    this.inputProviders.push(provider);
  }

  /** Invokes `fn` with its trigger input; other input bindings come from the providers. Throws what the function throws. */
  async invoke(fn: RegisteredFunction, triggerData: RpcTypedData | undefined): Promise<RpcInvocationResponse> {
    const inputData: RpcParameterBinding[] = [{ name: fn.triggerName, data: triggerData }];
    for (const provider of this.inputProviders) inputData.push(...provider(fn));
    const invocationId = randomUUID();
    const coreCtx: CoreInvocationContext = {
      invocationId,
      request: { invocationId, functionId: fn.id, inputData },
      metadata: fn.metadata,
      state: "invocation",
      log: (level, category, message) => this.log(level, category, message, fn.name),
    };
    const invocationModel = this.registry.requireProgrammingModel().getInvocationModel(coreCtx);
    const { context, inputs } = await invocationModel.getArguments();
    const result = await invocationModel.invokeFunction(context, inputs, fn.callback);
    return invocationModel.getResponse(context, result);
  }
}

/** Typed data → a JSON text (what the extension stores as an activity's Result). Undefined becomes "null". */
export function typedDataToJson(data: RpcTypedData | null | undefined): string {
  if (!data) return "null";
  if (data.json !== undefined) return data.json;
  if (data.string !== undefined) return JSON.stringify(data.string);
  if (data.int !== undefined) return JSON.stringify(Number(data.int));
  if (data.double !== undefined) return JSON.stringify(Number(data.double));
  if (data.bytes !== undefined) return JSON.stringify(Buffer.from(data.bytes).toString("base64"));
  return "null";
}

/** A JSON text → typed data as the extension hands inputs to the worker (objects as json, strings as string). */
export function jsonToTypedData(json: string | undefined): RpcTypedData | undefined {
  if (json === undefined) return undefined;
  const value: unknown = JSON.parse(json);
  if (value === null) return undefined;
  if (typeof value === "string") return { string: json };
  return { json };
}

/** Error → the one-line message the host logs and reports. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "string") return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}
