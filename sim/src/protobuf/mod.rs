//! Decoding of Kubernetes protobuf request bodies into JSON objects.
//!
//! kubectl and client-go typed clients send built-in kinds (Namespace,
//! ConfigMap, Deployment, Service, DeleteOptions, ...) with
//! `Content-Type: application/vnd.kubernetes.protobuf`. The simulator stores
//! objects as JSON and answers in JSON, so it only has to *decode* such a body
//! into the JSON object the client would otherwise have sent.
//!
//! Wire format: the magic `k8s\0`, then a `runtime.Unknown` envelope
//! (1: typeMeta {1: apiVersion, 2: kind}, 2: raw, 3: contentEncoding,
//! 4: contentType) whose `raw` holds the object's own message from
//! Kubernetes' `generated.proto`.
//!
//! There is no protobuf reflection at hand, so [`schema`] is a generated
//! table (see `sim/tools/gen_protobuf_schema.py`) of field number, JSON name
//! and shape for each message reachable from the supported kinds, and
//! [`decode`] walks the wire format by hand against it. Well-known messages
//! (Time, MicroTime, Duration, IntOrString, Quantity, RawExtension,
//! FieldsV1) decode to their JSON forms. Go marshals every non-pointer field
//! even when it is zero, while Go's JSON omits zero `omitempty` fields; the
//! table marks those fields so their zeros are dropped and the result equals
//! the JSON body kubectl would have sent.

mod decode;
mod schema;
#[cfg(test)]
mod tests;

use serde_json::{Map as JsonMap, Value};

/// The Kubernetes protobuf media type.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The magic prefix of every Kubernetes protobuf body.
const MAGIC: &[u8] = b"k8s\0";

/// Nesting limit for messages (and objects embedded in RawExtensions).
const MAX_DEPTH: usize = 64;

/// Why a protobuf body could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum ProtobufError {
    #[error("missing k8s protobuf magic prefix")]
    MissingMagic,
    #[error("truncated {what} at byte {offset}")]
    Truncated { what: &'static str, offset: usize },
    #[error("varint longer than 10 bytes at byte {offset}")]
    VarintTooLong { offset: usize },
    #[error("invalid field number {number} at byte {offset}")]
    InvalidFieldNumber { number: u64, offset: usize },
    #[error("unsupported wire type {wire_type} at byte {offset}")]
    UnsupportedWireType { wire_type: u64, offset: usize },
    #[error(
        "field {field} of {message} has wire type {actual}, expected {expected} (byte {offset})"
    )]
    WireTypeMismatch {
        message: &'static str,
        field: u32,
        actual: &'static str,
        expected: &'static str,
        offset: usize,
    },
    #[error("invalid {message} at byte {offset}: {reason}")]
    InvalidValue {
        message: &'static str,
        offset: usize,
        reason: String,
    },
    #[error("invalid embedded JSON in {message} at byte {offset}: {source}")]
    EmbeddedJson {
        message: &'static str,
        offset: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("envelope has no typeMeta kind and no kind hint was given")]
    MissingKind,
    #[error("unknown message type {api_version} {kind}")]
    UnknownKind { api_version: String, kind: String },
    #[error("unsupported envelope content encoding {0:?}")]
    ContentEncoding(String),
    #[error("unsupported envelope content type {0:?}")]
    ContentType(String),
    #[error("message nesting deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("protobuf schema has no message {0}")]
    MissingSchema(String),
}

/// True for `application/vnd.kubernetes.protobuf` (parameters ignored).
pub fn is_protobuf(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default();
    essence.trim().eq_ignore_ascii_case(CONTENT_TYPE)
}

/// Decodes an envelope into the JSON object, with `apiVersion` and `kind` set
/// from typeMeta.
///
/// `kind_hint` (group, version, kind) is used when typeMeta is empty
/// (Kubernetes allows it).
pub fn decode_object(
    body: &[u8],
    kind_hint: Option<(&str, &str, &str)>,
) -> Result<Value, ProtobufError> {
    decode_envelope(body, kind_hint, 0)
}

/// [`decode_object`] at a nesting depth (RawExtensions may embed envelopes).
fn decode_envelope(
    body: &[u8],
    kind_hint: Option<(&str, &str, &str)>,
    depth: usize,
) -> Result<Value, ProtobufError> {
    let payload = body
        .strip_prefix(MAGIC)
        .ok_or(ProtobufError::MissingMagic)?;
    let envelope = decode::envelope(payload, MAGIC.len())?;
    if !envelope.content_encoding.is_empty() {
        return Err(ProtobufError::ContentEncoding(envelope.content_encoding));
    }
    if !envelope.content_type.is_empty() && !is_protobuf(&envelope.content_type) {
        return Err(ProtobufError::ContentType(envelope.content_type));
    }
    let (api_version, kind) = type_of(&envelope.api_version, &envelope.kind, kind_hint)?;
    let message = root_message(&api_version, &kind)?;
    let mut object = JsonMap::new();
    object.insert("apiVersion".into(), Value::String(api_version));
    object.insert("kind".into(), Value::String(kind));
    decode::message_into(
        envelope.raw,
        envelope.raw_offset,
        message,
        &mut object,
        depth,
    )?;
    Ok(Value::Object(object))
}

/// The object's (apiVersion, kind): typeMeta's, completed from the hint.
fn type_of(
    api_version: &str,
    kind: &str,
    hint: Option<(&str, &str, &str)>,
) -> Result<(String, String), ProtobufError> {
    let hint_version = hint.map(|(group, version, _)| match group {
        "" => version.to_owned(),
        _ => format!("{group}/{version}"),
    });
    let api_version = match api_version {
        "" => hint_version.unwrap_or_default(),
        given => given.to_owned(),
    };
    let kind = match kind {
        "" => hint.map(|(_, _, kind)| kind.to_owned()).unwrap_or_default(),
        given => given.to_owned(),
    };
    if kind.is_empty() || api_version.is_empty() {
        return Err(ProtobufError::MissingKind);
    }
    Ok((api_version, kind))
}

/// The message of a top-level kind. `DeleteOptions` is registered in every
/// group version and `Status` is unversioned; both are `meta.k8s.io/v1`.
fn root_message(api_version: &str, kind: &str) -> Result<&'static Message, ProtobufError> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let meta_kind = matches!(kind, "DeleteOptions" | "Status");
    let root = schema::ROOTS.iter().find(|(g, v, k, _)| {
        *k == kind && ((*g == group && *v == version) || (meta_kind && *g == "meta.k8s.io"))
    });
    match root {
        Some((_, _, _, name)) => message(name),
        None => Err(ProtobufError::UnknownKind {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
        }),
    }
}

/// Looks a message up in the (sorted) schema table.
fn message(name: &str) -> Result<&'static Message, ProtobufError> {
    schema::MESSAGES
        .binary_search_by(|m| m.name.cmp(name))
        .map(|i| &schema::MESSAGES[i])
        .map_err(|_| ProtobufError::MissingSchema(name.to_owned()))
}

/// A protobuf message: its full proto name and fields, sorted by number.
struct Message {
    name: &'static str,
    fields: &'static [Field],
}

/// One field of a [`Message`].
struct Field {
    tag: u32,
    /// JSON key; empty for [`Shape::Inline`].
    json: &'static str,
    shape: Shape,
    /// Drop the value when it is zero ("" / 0 / false / empty bytes): a
    /// non-pointer Go field tagged `omitempty`.
    omit_zero: bool,
}

/// How a field's values are laid out.
#[derive(Clone, Copy)]
enum Shape {
    /// A single value.
    One(Ty),
    /// A repeated value: a JSON array (scalars may be packed).
    Rep(Ty),
    /// `map<string, Ty>`: a JSON object.
    Map(Ty),
    /// A Go struct embedded with `json:",inline"`: its fields are merged into
    /// the parent object.
    Inline(&'static str),
}

/// The type of a value and the JSON it becomes.
#[derive(Clone, Copy)]
enum Ty {
    /// string → JSON string.
    Str,
    /// int32 → JSON number.
    I32,
    /// int64 → JSON number.
    I64,
    /// bool → JSON boolean.
    Bool,
    /// bytes → base64 JSON string.
    Bytes,
    /// An ordinary message (full proto name) → JSON object.
    Msg(&'static str),
    /// meta/v1 Time → RFC 3339 seconds ("2024-01-02T03:04:05Z"), zero → null.
    Time,
    /// meta/v1 MicroTime → RFC 3339 micros ("...05.123456Z"), zero → null.
    MicroTime,
    /// meta/v1 Timestamp → `{"seconds", "nanos"}`.
    #[allow(dead_code, reason = "no supported kind has a Timestamp field yet")]
    Timestamp,
    /// meta/v1 Duration (nanoseconds) → Go duration string ("1m30s").
    #[allow(dead_code, reason = "no supported kind has a Duration field yet")]
    Duration,
    /// util/intstr IntOrString → JSON number or string.
    IntOrString,
    /// api/resource Quantity → JSON string.
    Quantity,
    /// runtime RawExtension → the embedded JSON (or decoded protobuf object).
    #[allow(dead_code, reason = "no supported kind has a RawExtension field yet")]
    RawExtension,
    /// meta/v1 FieldsV1 → the embedded JSON.
    FieldsV1,
}

/// A field kept as decoded (schema table shorthand).
const fn f(tag: u32, json: &'static str, shape: Shape) -> Field {
    Field {
        tag,
        json,
        shape,
        omit_zero: false,
    }
}

/// A field whose zero value is dropped (schema table shorthand).
const fn z(tag: u32, json: &'static str, shape: Shape) -> Field {
    Field {
        tag,
        json,
        shape,
        omit_zero: true,
    }
}
