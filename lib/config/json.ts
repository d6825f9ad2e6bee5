// JSON input with errors an operator can act on: file, line, column, and an
// ajv-validated shape whose failures name the JSON path and the fix.
import { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import { RescueError } from '../errors.js';

/** Parse JSON; a syntax error names line and column (Node only gives a byte position). */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    const message = (cause as Error).message;
    const position = /position (\d+)/.exec(message)?.[1];
    let where = '';
    if (position !== undefined) {
      const before = text.slice(0, Number(position));
      const line = before.split('\n').length;
      const column = Number(position) - before.lastIndexOf('\n');
      where = ` at line ${line}, column ${column}`;
    }
    throw new RescueError('INVALID_JSON', `${what} is not valid JSON${where} (${message.replace(/ in JSON at position \d+.*$/, '')})`, {
      hint: 'check for a missing comma or quote, or a trailing comma; `python3 -m json.tool FILE` shows the spot',
      cause,
    });
  }
}

let ajv: Ajv | undefined;
const compiled = new Map<object, ValidateFunction>();

/** Compile each schema once, on first use (keeps `--help` fast). */
function validatorFor(schema: object): ValidateFunction {
  ajv ??= new Ajv({ allErrors: true, strict: true });
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

function describeError(error: ErrorObject): string {
  const path = error.instancePath || '/';
  switch (error.keyword) {
    case 'additionalProperties': {
      const extra = (error.params as { additionalProperty: string }).additionalProperty;
      return `${path}: unknown field "${extra}"`;
    }
    case 'enum':
      return `${path}: must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((value) => JSON.stringify(value)).join(', ')}`;
    default:
      return `${path}: ${error.message}`;
  }
}

export function validateShape<T>(value: unknown, schema: object, what: string, hint: string): T {
  const validate = validatorFor(schema);
  if (!validate(value)) {
    const problems = (validate.errors ?? []).map(describeError);
    throw new RescueError('INVALID_CONFIG', `${what} is invalid: ${[...new Set(problems)].join('; ')}`, { hint });
  }
  return value as T;
}
