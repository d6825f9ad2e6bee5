// Request bodies in Kubernetes protobuf (application/vnd.kubernetes.protobuf), for
// kube-objects.mjs: kubectl's typed commands (`kubectl create namespace|configmap|secret`)
// send them and do not retry with JSON after a 415. Decodes the "k8s\0" envelope
// (runtime.Unknown) and, by field number from k8s.io/api's generated.proto, the
// kinds those commands create; any other kind stays a 415 (answers are always JSON,
// which kubectl's Accept header allows).

/** Protobuf wire format into { fieldNumber: [value, ...] }; varints as numbers, length-delimited as Buffers. */
function fields(buffer) {
  const out = {};
  let at = 0;
  const varint = () => {
    let value = 0n;
    let shift = 0n;
    for (;;) {
      if (at >= buffer.length) throw new Error('truncated protobuf varint');
      const byte = buffer[at++];
      value |= BigInt(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return value;
      shift += 7n;
    }
  };
  while (at < buffer.length) {
    const tag = Number(varint());
    const [number, wire] = [tag >> 3, tag & 7];
    let value;
    if (wire === 0) value = Number(varint());
    else if (wire === 2) {
      const length = Number(varint());
      value = buffer.subarray(at, at + length);
      if (value.length !== length) throw new Error('truncated protobuf field');
      at += length;
    } else if (wire === 1) (value = buffer.subarray(at, at + 8)), (at += 8);
    else if (wire === 5) (value = buffer.subarray(at, at + 4)), (at += 4);
    else throw new Error(`protobuf wire type ${wire} not supported`);
    (out[number] ??= []).push(value);
  }
  return out;
}

// Go's generated marshalers write every optional string, empty or not: empty means unset.
const text = (values) => values?.[0]?.toString('utf8') || undefined;
const map = (values, asBase64 = false) =>
  values &&
  Object.fromEntries(
    values.map((entry) => fields(entry)).map((entry) => [entry[1]?.[0]?.toString('utf8') ?? '', (entry[2]?.[0] ?? Buffer.alloc(0)).toString(asBase64 ? 'base64' : 'utf8')]),
  );
const compact = (object) => Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));

function objectMeta(buffer) {
  const f = fields(buffer);
  return compact({
    name: text(f[1]),
    generateName: text(f[2]),
    namespace: text(f[3]),
    resourceVersion: text(f[6]),
    labels: map(f[11]),
    annotations: map(f[12]),
    finalizers: f[14]?.map((value) => value.toString('utf8')),
  });
}

const DECODERS = {
  'v1/Namespace': (f) => compact({ spec: f[2] && compact({ finalizers: fields(f[2][0])[1]?.map((value) => value.toString('utf8')) }) }),
  'v1/ConfigMap': (f) => compact({ data: map(f[2]), binaryData: map(f[3], true), immutable: f[4] ? Boolean(f[4][0]) : undefined }),
  'v1/Secret': (f) => compact({ data: map(f[2], true), stringData: map(f[4]), type: text(f[3]), immutable: f[5] ? Boolean(f[5][0]) : undefined }),
};

const MAGIC = Buffer.from('k8s\0', 'latin1');

/** The JSON object a protobuf body stands for, or undefined when its kind is not one we decode. */
export function decodeProtobuf(body) {
  if (!body.subarray(0, 4).equals(MAGIC)) throw new Error('not a Kubernetes protobuf body (no k8s\\0 prefix)');
  const unknown = fields(body.subarray(4));
  const typeMeta = fields(unknown[1]?.[0] ?? Buffer.alloc(0));
  const [apiVersion, kind] = [text(typeMeta[1]), text(typeMeta[2])];
  const decode = DECODERS[`${apiVersion}/${kind}`];
  if (!decode) return undefined;
  const object = fields(unknown[2]?.[0] ?? Buffer.alloc(0));
  return { apiVersion, kind, metadata: object[1] ? objectMeta(object[1][0]) : {}, ...decode(object) };
}
