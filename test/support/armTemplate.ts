// The compiled template (bicep build output, ARM JSON) deployed on paper: parameters checked against their declared
// types, allowed values and bounds, defaults filled in, conditions, copies and nested deployments (modules) followed,
// and every ARM expression the templates use evaluated, so that tests see the resources, settings, role assignments
// and outputs one set of parameter values yields. What only Azure knows (a managed identity's principal id, an
// account's endpoint) comes from the caller's `runtime` answer; a property it does not answer fails the deployment,
// as does an expression function this evaluator does not implement.
import { createHash } from "node:crypto";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface ParameterDefinition {
  type?: string;
  defaultValue?: unknown;
  allowedValues?: Json[];
  minValue?: number;
  maxValue?: number;
  minLength?: number;
  maxLength?: number;
  nullable?: boolean;
  items?: { type?: string };
  metadata?: { description?: string; [key: string]: unknown };
}

interface ResourceDefinition {
  type: string;
  apiVersion?: string;
  name: string;
  condition?: unknown;
  existing?: boolean;
  scope?: string;
  copy?: { name: string; count: unknown };
  subscriptionId?: string;
  resourceGroup?: string;
  dependsOn?: unknown;
  properties?: { template?: ArmTemplate; parameters?: unknown; [key: string]: unknown };
  [key: string]: unknown;
}

export interface ArmTemplate {
  languageVersion?: string;
  parameters?: Record<string, ParameterDefinition>;
  variables?: Record<string, unknown>;
  resources: Record<string, ResourceDefinition> | ResourceDefinition[];
  outputs?: Record<string, { type: string; value: unknown }>;
  [key: string]: unknown;
}

/** A resource as the deployment sees it: its identity, and for a property only Azure knows, the path to it. */
export interface ResourceRef {
  id: string;
  type: string;
  name: string;
}

/** What Azure answers for a property of a deployed or existing resource (path from the resource, e.g. properties.clientId). */
export type RuntimeAnswer = (resource: ResourceRef, path: string[]) => Json | undefined;

export interface DeployedResource extends ResourceRef {
  /** The module path (symbolic names of the nested deployments, `[i]` for a copy) and the resource's own symbol. */
  module: string;
  symbol: string;
  /** Declared with `existing`: referenced, not deployed. */
  existing: boolean;
  /** The resource, every expression evaluated (a nested deployment: its parameter values instead of its template). */
  body: JsonObject;
}

export interface Deployment {
  parameters: JsonObject;
  resources: DeployedResource[];
  outputs: JsonObject;
}

export interface DeployOptions {
  subscriptionId: string;
  tenantId: string;
  location: string;
  runtime: RuntimeAnswer;
}

/** Deploys `template` (subscription scope, as main.bicep) with `parameters`; throws on what ARM would refuse. */
export function deploy(template: ArmTemplate, parameters: Record<string, Json>, options: DeployOptions): Deployment {
  const resources: DeployedResource[] = [];
  const run = new TemplateRun(template, parameters, { subscriptionId: options.subscriptionId }, options, "", resources);
  const outputs = run.deployAll();
  return { parameters: run.parameters, resources, outputs };
}

/** Problems with one parameter value against its definition (empty: accepted). */
export function parameterProblems(name: string, definition: ParameterDefinition, value: Json): string[] {
  const problems: string[] = [];
  const type = (definition.type ?? "").toLowerCase();
  if (value === null) return definition.nullable ? [] : [`${name}: is null`];
  const typeOk: Record<string, (v: Json) => boolean> = {
    string: (v) => typeof v === "string",
    securestring: (v) => typeof v === "string",
    int: (v) => typeof v === "number" && Number.isInteger(v),
    bool: (v) => typeof v === "boolean",
    array: (v) => Array.isArray(v),
    object: (v) => isObject(v),
    secureobject: (v) => isObject(v),
  };
  if (type && typeOk[type] && !typeOk[type](value)) return [`${name}: ${JSON.stringify(value)} is not of type ${type}`];
  if (definition.allowedValues) {
    const values = Array.isArray(value) && type === "array" ? value : [value];
    for (const v of values)
      if (!definition.allowedValues.some((allowed) => deepEqual(allowed, v)))
        problems.push(`${name}: ${JSON.stringify(v)} is not one of ${JSON.stringify(definition.allowedValues)}`);
  }
  if (typeof value === "number") {
    if (definition.minValue !== undefined && value < definition.minValue)
      problems.push(`${name}: ${value} < minValue ${definition.minValue}`);
    if (definition.maxValue !== undefined && value > definition.maxValue)
      problems.push(`${name}: ${value} > maxValue ${definition.maxValue}`);
  }
  if (typeof value === "string" || Array.isArray(value)) {
    if (definition.minLength !== undefined && value.length < definition.minLength)
      problems.push(`${name}: length ${value.length} < minLength ${definition.minLength}`);
    if (definition.maxLength !== undefined && value.length > definition.maxLength)
      problems.push(`${name}: length ${value.length} > maxLength ${definition.maxLength}`);
  }
  const itemType = definition.items?.type;
  if (Array.isArray(value) && itemType)
    value.forEach((item, i) => problems.push(...parameterProblems(`${name}[${i}]`, { type: itemType }, item)));
  return problems;
}

// ---- expressions -------------------------------------------------------------------------------------------------------

type Node =
  | { kind: "literal"; value: Json }
  | { kind: "call"; name: string; args: Node[] }
  | { kind: "property"; base: Node; name: string }
  | { kind: "index"; base: Node; index: Node };

const parsed = new Map<string, Node>();

/** Parses the inside of `[…]`. */
export function parseExpression(text: string): Node {
  const cached = parsed.get(text);
  if (cached) return cached;
  let pos = 0;
  const fail = (what: string): never => {
    throw new Error(`ARM expression: ${what} at ${pos} in ${text}`);
  };
  const ws = () => {
    while (pos < text.length && /\s/.test(text[pos] ?? "")) pos++;
  };
  const identifier = (): string => {
    const m = /^[A-Za-z_$][\w$]*/.exec(text.slice(pos));
    if (!m) fail("identifier expected");
    pos += (m as RegExpExecArray)[0].length;
    return (m as RegExpExecArray)[0];
  };
  const primary = (): Node => {
    ws();
    const c = text[pos];
    if (c === "'") {
      let value = "";
      pos++;
      for (;;) {
        if (pos >= text.length) fail("unterminated string");
        if (text[pos] === "'") {
          if (text[pos + 1] === "'") {
            value += "'";
            pos += 2;
            continue;
          }
          pos++;
          break;
        }
        value += text[pos++];
      }
      return { kind: "literal", value };
    }
    const number = /^-?\d+(\.\d+)?/.exec(text.slice(pos));
    if (number) {
      pos += number[0].length;
      return { kind: "literal", value: Number(number[0]) };
    }
    const name = identifier();
    ws();
    if (text[pos] !== "(") {
      if (name === "true" || name === "false") return { kind: "literal", value: name === "true" };
      if (name === "null") return { kind: "literal", value: null };
      fail(`( expected after ${name}`);
    }
    pos++;
    const args: Node[] = [];
    ws();
    if (text[pos] === ")") pos++;
    else
      for (;;) {
        args.push(expression());
        ws();
        if (text[pos] === ",") {
          pos++;
          continue;
        }
        if (text[pos] === ")") {
          pos++;
          break;
        }
        fail(", or ) expected");
      }
    return { kind: "call", name, args };
  };
  const expression = (): Node => {
    let node = primary();
    for (;;) {
      ws();
      if (text[pos] === ".") {
        pos++;
        node = { kind: "property", base: node, name: identifier() };
      } else if (text[pos] === "[") {
        pos++;
        const index = expression();
        ws();
        if (text[pos] !== "]") fail("] expected");
        pos++;
        node = { kind: "index", base: node, index };
      } else return node;
    }
  };
  const node = expression();
  ws();
  if (pos !== text.length) fail("end expected");
  parsed.set(text, node);
  return node;
}

/** A value only Azure knows yet: a resource's property, read further by property access. */
class RuntimeValue {
  constructor(
    readonly resource: ResourceRef,
    readonly path: string[],
  ) {}
}

class Lambda {
  constructor(
    readonly names: string[],
    readonly body: Node,
    readonly context: Context,
  ) {}
}

type Value = Json | RuntimeValue | Lambda;

interface Context {
  copy: Record<string, number>;
  lambda: Record<string, Json>;
}

const ROOT_CONTEXT: Context = { copy: {}, lambda: {} };

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** An object's property, case-insensitively as ARM reads them. */
function property(object: JsonObject, name: string): Json | undefined {
  if (name in object) return object[name];
  const key = Object.keys(object).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : object[key];
}

function hash(algorithm: string, parts: Json[]): Buffer {
  return createHash(algorithm)
    .update(parts.map((p) => String(p)).join("\u0000"))
    .digest();
}

function toText(value: Json): string {
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "True" : "False";
  if (value === null) return "";
  if (typeof value === "number") return String(value);
  return JSON.stringify(value);
}

// ---- one template (main, or one module) ---------------------------------------------------------------------------

interface Scope {
  subscriptionId: string;
  resourceGroup?: string;
}

interface Instance {
  symbol: string;
  definition: ResourceDefinition;
  context: Context;
  ref?: ResourceRef;
  deployed?: boolean;
  module?: TemplateRun;
  moduleOutputs?: JsonObject;
}

class TemplateRun {
  readonly parameters: JsonObject = {};
  private readonly variables = new Map<string, Json>();
  private readonly definitions = new Map<string, ResourceDefinition>();
  private readonly instances = new Map<string, Instance>();
  private readonly scopeId: string;

  constructor(
    private readonly template: ArmTemplate,
    given: Record<string, Json>,
    private readonly scope: Scope,
    private readonly options: DeployOptions,
    private readonly modulePath: string,
    private readonly collected: DeployedResource[],
  ) {
    this.scopeId = `/subscriptions/${scope.subscriptionId}${scope.resourceGroup ? `/resourceGroups/${scope.resourceGroup}` : ""}`;
    const where = modulePath || "main";
    const declared = template.parameters ?? {};
    const unknown = Object.keys(given).filter((k) => !(k in declared));
    if (unknown.length) throw new Error(`${where}: parameters not declared: ${unknown.join(", ")}`);
    for (const [name, definition] of Object.entries(declared)) {
      let value: Json | undefined = given[name];
      if (value === undefined && definition.defaultValue !== undefined)
        value = this.json(definition.defaultValue, ROOT_CONTEXT);
      if (value === undefined) {
        if (definition.nullable) value = null;
        else throw new Error(`${where}: parameter ${name} has no value and no default`);
      }
      const problems = parameterProblems(name, definition, value);
      if (problems.length) throw new Error(`${where}: ${problems.join("; ")}`);
      this.parameters[name] = value;
    }
    const resources = template.resources;
    if (Array.isArray(resources)) resources.forEach((r, i) => this.definitions.set(`resources[${i}]`, r));
    else for (const [symbol, r] of Object.entries(resources)) this.definitions.set(symbol, r);
  }

  /** Deploys every resource and module (conditions and copies applied), then evaluates the outputs. */
  deployAll(): JsonObject {
    for (const [symbol, definition] of this.definitions) {
      for (const instance of this.expand(symbol, definition)) {
        const ref = this.refOf(instance);
        if (instance.definition.existing) {
          this.collected.push({ ...ref, module: this.modulePath, symbol: instance.symbol, existing: true, body: {} });
          continue;
        }
        if (!this.isDeployed(instance)) continue;
        if (instance.definition.type.toLowerCase() === "microsoft.resources/deployments") {
          const module = this.moduleOf(instance);
          const body: JsonObject = {
            name: ref.name,
            resourceGroup: module.scope.resourceGroup ?? null,
            subscriptionId: module.scope.subscriptionId,
            parameters: module.parameters,
          };
          this.collected.push({ ...ref, module: this.modulePath, symbol: instance.symbol, existing: false, body });
          this.outputsOf(instance);
          continue;
        }
        const body: JsonObject = {};
        for (const [key, value] of Object.entries(instance.definition)) {
          if (["condition", "copy", "dependsOn", "existing"].includes(key)) continue;
          body[key] = this.json(value, instance.context);
        }
        this.collected.push({ ...ref, module: this.modulePath, symbol: instance.symbol, existing: false, body });
      }
    }
    const outputs: JsonObject = {};
    for (const [name, output] of Object.entries(this.template.outputs ?? {}))
      outputs[name] = this.json(output.value, ROOT_CONTEXT);
    return outputs;
  }

  private expand(symbol: string, definition: ResourceDefinition): Instance[] {
    if (!definition.copy) return [this.instance(symbol, definition, ROOT_CONTEXT)];
    const count = this.json(definition.copy.count, ROOT_CONTEXT);
    if (typeof count !== "number") throw new Error(`${symbol}: copy count is not a number`);
    return Array.from({ length: count }, (_, i) =>
      this.instance(`${symbol}[${i}]`, definition, { copy: { "": i, [definition.copy?.name ?? ""]: i }, lambda: {} }),
    );
  }

  private instance(symbol: string, definition: ResourceDefinition, context: Context): Instance {
    let instance = this.instances.get(symbol);
    if (!instance) {
      instance = { symbol, definition, context };
      this.instances.set(symbol, instance);
    }
    return instance;
  }

  private isDeployed(instance: Instance): boolean {
    if (instance.deployed === undefined) {
      const condition =
        instance.definition.condition === undefined ? true : this.json(instance.definition.condition, instance.context);
      if (typeof condition !== "boolean") throw new Error(`${instance.symbol}: condition is not a bool`);
      instance.deployed = condition && !instance.definition.existing;
    }
    return instance.deployed;
  }

  private refOf(instance: Instance): ResourceRef {
    if (instance.ref) return instance.ref;
    const { definition, context } = instance;
    const name = this.json(definition.name, context);
    if (typeof name !== "string") throw new Error(`${instance.symbol}: name is not a string`);
    const type = definition.type;
    let id: string;
    if (type.toLowerCase() === "microsoft.resources/deployments") {
      const target = this.moduleScope(instance);
      id = `${scopeIdOf(target)}/providers/Microsoft.Resources/deployments/${name}`;
    } else if (type.toLowerCase() === "microsoft.resources/resourcegroups") {
      id = `/subscriptions/${this.scope.subscriptionId}/resourceGroups/${name}`;
    } else if (definition.scope !== undefined) {
      const scope = this.json(definition.scope, context);
      if (typeof scope !== "string") throw new Error(`${instance.symbol}: scope is not a string`);
      id = resourceIdIn(scope.startsWith("/") ? scope : `${this.scopeId}/providers/${scope}`, type, name);
    } else id = resourceIdIn(this.scopeId, type, name);
    instance.ref = { id, type, name };
    return instance.ref;
  }

  private moduleScope(instance: Instance): Scope {
    const { definition, context } = instance;
    const subscriptionId =
      definition.subscriptionId === undefined
        ? this.scope.subscriptionId
        : this.json(definition.subscriptionId, context);
    const resourceGroup =
      definition.resourceGroup === undefined ? this.scope.resourceGroup : this.json(definition.resourceGroup, context);
    if (typeof subscriptionId !== "string" || (resourceGroup !== undefined && typeof resourceGroup !== "string"))
      throw new Error(`${instance.symbol}: subscriptionId or resourceGroup is not a string`);
    return resourceGroup === undefined ? { subscriptionId } : { subscriptionId, resourceGroup };
  }

  private moduleOf(instance: Instance): TemplateRun {
    if (instance.module) return instance.module;
    const properties = instance.definition.properties ?? {};
    const options = properties.expressionEvaluationOptions as { scope?: string } | undefined;
    if (options?.scope !== "inner")
      throw new Error(`${instance.symbol}: only inner-scoped nested templates are supported`);
    if (!properties.template) throw new Error(`${instance.symbol}: nested deployment without a template`);
    const given: Record<string, Json> = {};
    const raw = properties.parameters;
    const entries = typeof raw === "string" ? this.json(raw, instance.context) : raw;
    for (const [name, entry] of Object.entries((entries ?? {}) as Record<string, unknown>)) {
      const wrapped = typeof entry === "string" ? this.json(entry, instance.context) : entry;
      if (!isObject(wrapped) || !("value" in wrapped))
        throw new Error(`${instance.symbol}: parameter ${name} has no value (references are not supported)`);
      given[name] = this.json(wrapped.value, instance.context);
    }
    const path = this.modulePath ? `${this.modulePath}/${instance.symbol}` : instance.symbol;
    instance.module = new TemplateRun(
      properties.template,
      given,
      this.moduleScope(instance),
      this.options,
      path,
      this.collected,
    );
    return instance.module;
  }

  private outputsOf(instance: Instance): JsonObject {
    if (!instance.moduleOutputs) {
      const outputs = this.moduleOf(instance).deployAll();
      instance.moduleOutputs = Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, { value: v }]));
    }
    return instance.moduleOutputs;
  }

  // ---- evaluation ----

  /** A template value with every expression (in strings and in object keys) evaluated. */
  json(value: unknown, context: Context): Json {
    if (typeof value === "string") {
      if (value.startsWith("[[")) return value.slice(1);
      if (value.startsWith("[") && value.endsWith("]"))
        return this.force(this.evaluate(parseExpression(value.slice(1, -1)), context));
      return value;
    }
    if (Array.isArray(value)) return value.map((v) => this.json(v, context));
    if (isObject(value)) {
      const out: JsonObject = {};
      for (const [key, v] of Object.entries(value)) {
        const name = this.json(key, context);
        out[String(name)] = this.json(v, context);
      }
      return out;
    }
    return value as Json;
  }

  private force(value: Value): Json {
    if (value instanceof Lambda) throw new Error("a lambda is not a value");
    if (value instanceof RuntimeValue) {
      const answer = this.options.runtime(value.resource, value.path);
      if (answer === undefined)
        throw new Error(
          `no runtime value for ${value.resource.type} ${value.resource.name}: ${value.path.join(".")} (answer it in the test's runtime)`,
        );
      return answer;
    }
    return value;
  }

  private variable(name: string): Json {
    if (this.variables.has(name)) return this.variables.get(name) as Json;
    const all = this.template.variables ?? {};
    let value: Json;
    const copies = (all.copy ?? []) as { name: string; count: unknown; input: unknown }[];
    const loop = copies.find((c) => c.name === name);
    if (loop) {
      const count = this.json(loop.count, ROOT_CONTEXT);
      if (typeof count !== "number") throw new Error(`variable ${name}: copy count is not a number`);
      value = Array.from({ length: count }, (_, i) =>
        this.json(loop.input, { copy: { [name]: i, "": i }, lambda: {} }),
      );
    } else {
      if (!(name in all)) throw new Error(`${this.modulePath || "main"}: variable ${name} is not declared`);
      value = this.json(all[name], ROOT_CONTEXT);
    }
    this.variables.set(name, value);
    return value;
  }

  /** The resource `target` names: a symbolic name, or a resource id (one of this template's, or outside it). */
  private lookup(target: string): { instance?: Instance; ref: ResourceRef } {
    const definition = this.definitions.get(target);
    if (definition && !definition.copy) {
      const instance = this.instance(target, definition, ROOT_CONTEXT);
      return { instance, ref: this.refOf(instance) };
    }
    if (!target.startsWith("/")) throw new Error(`reference('${target}'): no such symbolic name`);
    for (const [symbol, d] of this.definitions) {
      for (const instance of this.expand(symbol, d)) {
        const ref = this.refOf(instance);
        if (ref.id.toLowerCase() === target.toLowerCase()) return { instance, ref };
      }
    }
    return { ref: parseResourceId(target) };
  }

  private reference(target: string, full: boolean): Value {
    const { instance, ref } = this.lookup(target);
    if (instance && !instance.definition.existing && !this.isDeployed(instance))
      throw new Error(`reference('${target}'): ${instance.symbol} is not deployed (its condition is false)`);
    if (ref.type.toLowerCase() === "microsoft.resources/deployments") {
      if (!instance) throw new Error(`reference('${target}'): a deployment outside this template`);
      const outputs = { outputs: this.outputsOf(instance) };
      return full ? { properties: outputs } : outputs;
    }
    return new RuntimeValue(ref, full ? [] : ["properties"]);
  }

  private evaluate(node: Node, context: Context): Value {
    switch (node.kind) {
      case "literal":
        return node.value;
      case "property": {
        const base = this.evaluate(node.base, context);
        if (base instanceof RuntimeValue) return new RuntimeValue(base.resource, [...base.path, node.name]);
        if (!isObject(base)) throw new Error(`.${node.name} of a non-object ${JSON.stringify(base)}`);
        const value = property(base, node.name);
        if (value === undefined)
          throw new Error(`.${node.name}: no such property in ${JSON.stringify(base).slice(0, 200)}`);
        return value;
      }
      case "index": {
        const base = this.evaluate(node.base, context);
        const index = this.force(this.evaluate(node.index, context));
        if (base instanceof RuntimeValue) return new RuntimeValue(base.resource, [...base.path, String(index)]);
        if (Array.isArray(base) && typeof index === "number") {
          if (index < 0 || index >= base.length) throw new Error(`index ${index} out of range`);
          return base[index] as Json;
        }
        if (isObject(base) && typeof index === "string") {
          const value = property(base, index);
          if (value === undefined) throw new Error(`['${index}']: no such property`);
          return value;
        }
        throw new Error(`cannot index ${JSON.stringify(base)} with ${JSON.stringify(index)}`);
      }
      case "call":
        return this.call(node.name, node.args, context);
    }
  }

  private call(name: string, argNodes: Node[], context: Context): Value {
    const fn = name.toLowerCase();
    // Lazy: only the branch taken is evaluated (as ARM does), and a lambda's body when it is applied.
    if (fn === "if") {
      const [condition, whenTrue, whenFalse] = argNodes;
      const test = this.force(this.evaluate(condition as Node, context));
      if (typeof test !== "boolean") throw new Error("if(): condition is not a bool");
      return this.evaluate((test ? whenTrue : whenFalse) as Node, context);
    }
    if (fn === "lambda") {
      const names = argNodes.slice(0, -1).map((n) => (n.kind === "literal" ? String(n.value) : ""));
      return new Lambda(names, argNodes[argNodes.length - 1] as Node, context);
    }
    const raw = argNodes.map((n) => this.evaluate(n, context));
    if (fn === "map" || fn === "filter") {
      const [array, lambda] = raw;
      if (!Array.isArray(array) || !(lambda instanceof Lambda)) throw new Error(`${name}(): array and lambda expected`);
      const apply = (item: Json, i: number) =>
        this.force(
          this.evaluate(lambda.body, {
            ...lambda.context,
            lambda: { ...lambda.context.lambda, [lambda.names[0] ?? ""]: item, [lambda.names[1] ?? ""]: i },
          }),
        );
      return fn === "map" ? array.map(apply) : array.filter((item, i) => apply(item, i) === true);
    }
    const args = raw.map((v) => this.force(v));
    const str = (i: number): string => {
      const v = args[i];
      if (typeof v !== "string") throw new Error(`${name}(): argument ${i + 1} is not a string: ${JSON.stringify(v)}`);
      return v;
    };
    const num = (i: number): number => {
      const v = args[i];
      if (typeof v !== "number") throw new Error(`${name}(): argument ${i + 1} is not a number: ${JSON.stringify(v)}`);
      return v;
    };
    switch (fn) {
      case "parameters": {
        const key = str(0);
        if (!(key in this.parameters)) throw new Error(`parameters('${key}'): not declared`);
        return this.parameters[key] as Json;
      }
      case "variables":
        return this.variable(str(0));
      case "lambdavariables": {
        const key = str(0);
        if (!(key in context.lambda)) throw new Error(`lambdaVariables('${key}'): not in a lambda`);
        return context.lambda[key] as Json;
      }
      case "copyindex": {
        const loop = typeof args[0] === "string" ? args[0] : "";
        const offset = typeof args[0] === "number" ? args[0] : typeof args[1] === "number" ? args[1] : 0;
        const index = context.copy[loop];
        if (index === undefined) throw new Error("copyIndex() outside a copy loop");
        return index + offset;
      }
      case "reference":
        return this.reference(str(0), args[2] === "full" || args[2] === "Full");
      case "resourceid": {
        const typeAt = args.findIndex((a) => typeof a === "string" && a.includes("/"));
        if (typeAt < 0) throw new Error("resourceId(): no resource type");
        const leading = args.slice(0, typeAt).map(String);
        const names = args.slice(typeAt + 1).map(String);
        const type = str(typeAt);
        let scopeId: string;
        if (leading.length === 2) scopeId = `/subscriptions/${leading[0]}/resourceGroups/${leading[1]}`;
        else if (leading.length === 1)
          scopeId = `/subscriptions/${this.scope.subscriptionId}/resourceGroups/${leading[0]}`;
        else scopeId = this.scopeId;
        return resourceIdIn(scopeId, type, names.join("/"));
      }
      case "subscriptionresourceid": {
        const typeAt = args.findIndex((a) => typeof a === "string" && a.includes("/"));
        const subscriptionId = typeAt === 1 ? str(0) : this.scope.subscriptionId;
        return resourceIdIn(
          `/subscriptions/${subscriptionId}`,
          str(typeAt),
          args
            .slice(typeAt + 1)
            .map(String)
            .join("/"),
        );
      }
      case "extensionresourceid":
        return resourceIdIn(str(0), str(1), args.slice(2).map(String).join("/"));
      case "tenantresourceid":
        return resourceIdIn("", str(0), args.slice(1).map(String).join("/"));
      case "subscription":
        return {
          id: `/subscriptions/${this.scope.subscriptionId}`,
          subscriptionId: this.scope.subscriptionId,
          tenantId: this.options.tenantId,
          displayName: "subscription",
        };
      case "resourcegroup":
        if (!this.scope.resourceGroup) throw new Error("resourceGroup() at subscription scope");
        return {
          id: this.scopeId,
          name: this.scope.resourceGroup,
          location: this.options.location,
          type: "Microsoft.Resources/resourceGroups",
          properties: {},
        };
      case "tenant":
        return { tenantId: this.options.tenantId };
      case "environment":
        return {
          name: "AzureCloud",
          resourceManager: "https://management.azure.com/",
          suffixes: { acrLoginServer: ".azurecr.io", storage: "core.windows.net", keyvaultDns: ".vault.azure.net" },
        };
      case "uniquestring":
        return [...hash("sha256", args)]
          .map((b) => "abcdefghijklmnopqrstuvwxyz0123456789"[b % 36])
          .slice(0, 13)
          .join("");
      case "guid": {
        const h = hash("sha1", args).toString("hex");
        return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
      }
      case "format":
        return str(0).replace(/\{\{|\}\}|\{(\d+)(?:[,:][^}]*)?\}/g, (m, i: string | undefined) => {
          if (m === "{{") return "{";
          if (m === "}}") return "}";
          const value = args[Number(i) + 1];
          if (value === undefined) throw new Error(`format(): no argument {${i}}`);
          return toText(value);
        });
      case "string":
        return toText(args[0] ?? null);
      case "int":
        return typeof args[0] === "number" ? Math.trunc(args[0]) : Number.parseInt(str(0), 10);
      case "bool":
        return typeof args[0] === "boolean" ? args[0] : str(0).toLowerCase() === "true";
      case "json":
        return JSON.parse(str(0)) as Json;
      case "createarray":
        return args;
      case "createobject": {
        const out: JsonObject = {};
        for (let i = 0; i < args.length; i += 2) out[str(i)] = args[i + 1] as Json;
        return out;
      }
      case "concat":
        if (args.every(Array.isArray)) return (args as Json[][]).flat(1);
        return args.map((a) => toText(a)).join("");
      case "union":
        if (args.every(Array.isArray))
          return (args as Json[][]).flat(1).filter((v, i, all) => all.findIndex((w) => deepEqual(v, w)) === i);
        if (args.every(isObject)) return Object.assign({}, ...args) as JsonObject;
        throw new Error("union(): arguments of mixed kinds");
      case "empty": {
        const v = args[0];
        return (
          v === null || v === "" || (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0)
        );
      }
      case "equals":
        return deepEqual(args[0], args[1]);
      case "not":
        if (typeof args[0] !== "boolean") throw new Error("not(): not a bool");
        return !args[0];
      case "and":
        return args.every((a) => a === true);
      case "or":
        return args.some((a) => a === true);
      case "greater":
        return num(0) > num(1);
      case "greaterorequals":
        return num(0) >= num(1);
      case "less":
        return num(0) < num(1);
      case "lessorequals":
        return num(0) <= num(1);
      case "add":
        return num(0) + num(1);
      case "sub":
        return num(0) - num(1);
      case "mul":
        return num(0) * num(1);
      case "div":
        return Math.trunc(num(0) / num(1));
      case "min":
      case "max": {
        const values = (Array.isArray(args[0]) ? args[0] : args) as Json[];
        if (!values.every((v) => typeof v === "number")) throw new Error(`${name}(): not numbers`);
        return fn === "min" ? Math.min(...(values as number[])) : Math.max(...(values as number[]));
      }
      case "length": {
        const v = args[0];
        if (typeof v === "string" || Array.isArray(v)) return v.length;
        if (isObject(v)) return Object.keys(v).length;
        throw new Error("length(): not a string, array or object");
      }
      case "take": {
        const v = args[0];
        if (typeof v === "string" || Array.isArray(v)) return v.slice(0, Math.max(0, num(1)));
        throw new Error("take(): not a string or array");
      }
      case "tolower":
        return str(0).toLowerCase();
      case "toupper":
        return str(0).toUpperCase();
      case "join": {
        const v = args[0];
        if (!Array.isArray(v)) throw new Error("join(): not an array");
        return v.map((x) => toText(x)).join(str(1));
      }
      case "contains": {
        const [container, item] = args;
        if (typeof container === "string") return container.includes(toText(item ?? null));
        if (Array.isArray(container)) return container.some((v) => deepEqual(v, item));
        if (isObject(container)) return property(container, toText(item ?? null)) !== undefined;
        throw new Error("contains(): not a string, array or object");
      }
      case "coalesce":
        return args.find((a) => a !== null) ?? null;
      case "split":
        return str(0).split(str(1));
      case "replace":
        return str(0).split(str(1)).join(str(2));
      case "startswith":
        return str(0).toLowerCase().startsWith(str(1).toLowerCase());
      case "endswith":
        return str(0).toLowerCase().endsWith(str(1).toLowerCase());
      default:
        throw new Error(`ARM function ${name}() is not implemented in test/support/armTemplate.ts`);
    }
  }
}

function scopeIdOf(scope: Scope): string {
  return `/subscriptions/${scope.subscriptionId}${scope.resourceGroup ? `/resourceGroups/${scope.resourceGroup}` : ""}`;
}

/** `<scope>/providers/<namespace>/<type1>/<name1>/<type2>/<name2>…` */
export function resourceIdIn(scopeId: string, type: string, name: string): string {
  const [namespace, ...types] = type.split("/");
  const names = name.split("/");
  if (types.length !== names.length) throw new Error(`resource id: type ${type} does not fit name ${name}`);
  return `${scopeId}/providers/${namespace}/${types.map((t, i) => `${t}/${names[i]}`).join("/")}`;
}

/** The type and name of a resource id (the last provider's segments). */
export function parseResourceId(id: string): ResourceRef {
  const at = id.toLowerCase().lastIndexOf("/providers/");
  if (at < 0) throw new Error(`not a resource id: ${id}`);
  const [namespace, ...rest] = id.slice(at + "/providers/".length).split("/");
  const types: string[] = [];
  const names: string[] = [];
  rest.forEach((segment, i) => (i % 2 === 0 ? types : names).push(segment));
  return { id, type: [namespace, ...types].join("/"), name: names.join("/") };
}
