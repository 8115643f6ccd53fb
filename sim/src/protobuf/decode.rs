//! Hand-written protobuf wire decoding against the generated schema table.
//!
//! Every read is bounds-checked: malformed input yields a [`ProtobufError`]
//! naming the byte offset (from the start of the body), never a panic.

use base64::Engine as _;
use serde_json::{Map as JsonMap, Value};

use super::{MAGIC, MAX_DEPTH, Message, ProtobufError, Shape, Ty, decode_envelope, message};

type Result<T> = std::result::Result<T, ProtobufError>;

const UNKNOWN: &str = "k8s.io.apimachinery.pkg.runtime.Unknown";
const TYPE_META: &str = "k8s.io.apimachinery.pkg.runtime.TypeMeta";
const TIME: &str = "k8s.io.apimachinery.pkg.apis.meta.v1.Time";
const MICRO_TIME: &str = "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime";
const TIMESTAMP: &str = "k8s.io.apimachinery.pkg.apis.meta.v1.Timestamp";
const DURATION: &str = "k8s.io.apimachinery.pkg.apis.meta.v1.Duration";
const FIELDS_V1: &str = "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1";
const INT_OR_STRING: &str = "k8s.io.apimachinery.pkg.util.intstr.IntOrString";
const QUANTITY: &str = "k8s.io.apimachinery.pkg.api.resource.Quantity";
const RAW_EXTENSION: &str = "k8s.io.apimachinery.pkg.runtime.RawExtension";

/// Highest valid protobuf field number.
const MAX_FIELD_NUMBER: u64 = (1 << 29) - 1;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Wire {
    Varint,
    Fixed64,
    Len,
    Fixed32,
}

impl Wire {
    fn name(self) -> &'static str {
        match self {
            Wire::Varint => "varint",
            Wire::Fixed64 => "64-bit",
            Wire::Len => "length-delimited",
            Wire::Fixed32 => "32-bit",
        }
    }
}

/// A field key: number, wire type and the body offset it was read at.
#[derive(Clone, Copy)]
struct Key {
    number: u32,
    wire: Wire,
    offset: usize,
}

/// A cursor over a protobuf buffer; `base` is the buffer's offset in the body.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], base: usize) -> Self {
        Reader { buf, pos: 0, base }
    }

    fn offset(&self) -> usize {
        self.base + self.pos
    }

    fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn varint(&mut self) -> Result<u64> {
        let offset = self.offset();
        let mut value = 0u64;
        for i in 0..10 {
            let Some(&byte) = self.buf.get(self.pos) else {
                return Err(ProtobufError::Truncated {
                    what: "varint",
                    offset,
                });
            };
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(ProtobufError::VarintTooLong { offset })
    }

    fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8]> {
        let offset = self.offset();
        let bytes = self
            .pos
            .checked_add(len)
            .and_then(|end| self.buf.get(self.pos..end))
            .ok_or(ProtobufError::Truncated { what, offset })?;
        self.pos += len;
        Ok(bytes)
    }

    /// A length-delimited value and its offset in the body.
    fn len_delimited(&mut self) -> Result<(&'a [u8], usize)> {
        const WHAT: &str = "length-delimited value";
        let offset = self.offset();
        let len = usize::try_from(self.varint()?)
            .map_err(|_| ProtobufError::Truncated { what: WHAT, offset })?;
        let start = self.offset();
        Ok((self.take(len, WHAT)?, start))
    }

    fn key(&mut self) -> Result<Option<Key>> {
        if self.at_end() {
            return Ok(None);
        }
        let offset = self.offset();
        let raw = self.varint()?;
        let wire = match raw & 7 {
            0 => Wire::Varint,
            1 => Wire::Fixed64,
            2 => Wire::Len,
            5 => Wire::Fixed32,
            wire_type => return Err(ProtobufError::UnsupportedWireType { wire_type, offset }),
        };
        let number = raw >> 3;
        if number == 0 || number > MAX_FIELD_NUMBER {
            return Err(ProtobufError::InvalidFieldNumber { number, offset });
        }
        let number = u32::try_from(number)
            .map_err(|_| ProtobufError::InvalidFieldNumber { number, offset })?;
        Ok(Some(Key {
            number,
            wire,
            offset,
        }))
    }

    fn skip(&mut self, wire: Wire) -> Result<()> {
        match wire {
            Wire::Varint => self.varint().map(drop),
            Wire::Fixed64 => self.take(8, "64-bit value").map(drop),
            Wire::Len => self.len_delimited().map(drop),
            Wire::Fixed32 => self.take(4, "32-bit value").map(drop),
        }
    }
}

/// Walks the fields of a message; `visit` returns false for fields it does
/// not know, which are skipped.
fn scan<'a>(
    buf: &'a [u8],
    base: usize,
    mut visit: impl FnMut(Key, &mut Reader<'a>) -> Result<bool>,
) -> Result<()> {
    let mut reader = Reader::new(buf, base);
    while let Some(key) = reader.key()? {
        if !visit(key, &mut reader)? {
            reader.skip(key.wire)?;
        }
    }
    Ok(())
}

fn expect(key: Key, wire: Wire, message: &'static str) -> Result<()> {
    if key.wire == wire {
        return Ok(());
    }
    Err(ProtobufError::WireTypeMismatch {
        message,
        field: key.number,
        actual: key.wire.name(),
        expected: wire.name(),
        offset: key.offset,
    })
}

fn varint_field(key: Key, reader: &mut Reader<'_>, message: &'static str) -> Result<u64> {
    expect(key, Wire::Varint, message)?;
    reader.varint()
}

fn len_field<'a>(
    key: Key,
    reader: &mut Reader<'a>,
    message: &'static str,
) -> Result<(&'a [u8], usize)> {
    expect(key, Wire::Len, message)?;
    reader.len_delimited()
}

/// Go does not validate UTF-8 in protobuf strings and its JSON encoder
/// replaces invalid sequences with U+FFFD; so do we.
fn string_field(key: Key, reader: &mut Reader<'_>, message: &'static str) -> Result<String> {
    let (bytes, _) = len_field(key, reader, message)?;
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

/// The decoded `runtime.Unknown` envelope.
pub(super) struct Envelope<'a> {
    pub api_version: String,
    pub kind: String,
    pub raw: &'a [u8],
    pub raw_offset: usize,
    pub content_encoding: String,
    pub content_type: String,
}

/// Decodes the `runtime.Unknown` envelope found at `base` in the body.
pub(super) fn envelope(buf: &[u8], base: usize) -> Result<Envelope<'_>> {
    let mut env = Envelope {
        api_version: String::new(),
        kind: String::new(),
        raw: &[],
        raw_offset: base + buf.len(),
        content_encoding: String::new(),
        content_type: String::new(),
    };
    scan(buf, base, |key, reader| {
        match key.number {
            1 => {
                let (bytes, at) = len_field(key, reader, UNKNOWN)?;
                type_meta(bytes, at, &mut env.api_version, &mut env.kind)?;
            }
            2 => (env.raw, env.raw_offset) = len_field(key, reader, UNKNOWN)?,
            3 => env.content_encoding = string_field(key, reader, UNKNOWN)?,
            4 => env.content_type = string_field(key, reader, UNKNOWN)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(env)
}

fn type_meta(buf: &[u8], base: usize, api_version: &mut String, kind: &mut String) -> Result<()> {
    scan(buf, base, |key, reader| {
        match key.number {
            1 => *api_version = string_field(key, reader, TYPE_META)?,
            2 => *kind = string_field(key, reader, TYPE_META)?,
            _ => return Ok(false),
        }
        Ok(true)
    })
}

/// Decodes `buf` as `msg`, adding its fields to `out`.
pub(super) fn message_into(
    buf: &[u8],
    base: usize,
    msg: &'static Message,
    out: &mut JsonMap<String, Value>,
    depth: usize,
) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(ProtobufError::TooDeep);
    }
    scan(buf, base, |key, reader| {
        let Some(field) = msg.fields.iter().find(|f| f.tag == key.number) else {
            return Ok(false);
        };
        let site = Site { msg, key };
        match field.shape {
            Shape::One(Ty::Msg(name)) => {
                let (bytes, at) = len_field(key, reader, msg.name)?;
                let target = message(name)?;
                with_object(out, field.json, |object| {
                    message_into(bytes, at, target, object, depth + 1)
                })?;
            }
            Shape::One(ty) => {
                let value = value(site, reader, ty, depth)?;
                if field.omit_zero && is_zero(&value) {
                    out.remove(field.json); // the last occurrence wins
                } else {
                    out.insert(field.json.to_owned(), value);
                }
            }
            Shape::Rep(ty) => with_array(out, field.json, |items| {
                repeated_into(site, reader, ty, items, depth)
            })?,
            Shape::Map(ty) => with_object(out, field.json, |object| {
                map_entry_into(site, reader, ty, object, depth)
            })?,
            Shape::Inline(name) => {
                let (bytes, at) = len_field(key, reader, msg.name)?;
                message_into(bytes, at, message(name)?, out, depth + 1)?;
            }
        }
        Ok(true)
    })
}

/// Where a value is being read: the enclosing message and the field's key.
#[derive(Clone, Copy)]
struct Site {
    msg: &'static Message,
    key: Key,
}

/// Runs `f` on the JSON object at `json` (created, or replacing a
/// non-object). Repeated occurrences of a message field merge, as in
/// protobuf.
fn with_object(
    out: &mut JsonMap<String, Value>,
    json: &str,
    f: impl FnOnce(&mut JsonMap<String, Value>) -> Result<()>,
) -> Result<()> {
    let slot = out
        .entry(json)
        .or_insert_with(|| Value::Object(JsonMap::new()));
    if !slot.is_object() {
        *slot = Value::Object(JsonMap::new());
    }
    match slot {
        Value::Object(map) => f(map),
        _ => Ok(()),
    }
}

/// Runs `f` on the JSON array at `json` (created, or replacing a non-array).
fn with_array(
    out: &mut JsonMap<String, Value>,
    json: &str,
    f: impl FnOnce(&mut Vec<Value>) -> Result<()>,
) -> Result<()> {
    let slot = out.entry(json).or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    match slot {
        Value::Array(items) => f(items),
        _ => Ok(()),
    }
}

/// One element of a repeated field; scalars may come packed.
fn repeated_into(
    site: Site,
    reader: &mut Reader<'_>,
    ty: Ty,
    items: &mut Vec<Value>,
    depth: usize,
) -> Result<()> {
    if ty.is_varint() && site.key.wire == Wire::Len {
        let (bytes, at) = reader.len_delimited()?;
        let mut packed = Reader::new(bytes, at);
        while !packed.at_end() {
            items.push(varint_value(ty, packed.varint()?));
        }
        return Ok(());
    }
    items.push(value(site, reader, ty, depth)?);
    Ok(())
}

/// One `map<string, ty>` entry (a message {1: key, 2: value}).
fn map_entry_into(
    site: Site,
    reader: &mut Reader<'_>,
    ty: Ty,
    out: &mut JsonMap<String, Value>,
    depth: usize,
) -> Result<()> {
    let (entry, at) = len_field(site.key, reader, site.msg.name)?;
    let mut key = String::new();
    let mut value_found = None;
    scan(entry, at, |entry_key, entry_reader| {
        let entry_site = Site {
            msg: site.msg,
            key: entry_key,
        };
        match entry_key.number {
            1 => key = string_field(entry_key, entry_reader, site.msg.name)?,
            2 => value_found = Some(value(entry_site, entry_reader, ty, depth)?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    let value = match value_found {
        Some(value) => value,
        None if ty.is_varint() => varint_value(ty, 0),
        None => len_value(ty, &[], at, depth)?,
    };
    out.insert(key, value);
    Ok(())
}

impl Ty {
    fn is_varint(self) -> bool {
        matches!(self, Ty::I32 | Ty::I64 | Ty::Bool)
    }
}

/// Reads one value of type `ty` (checking the wire type).
fn value(site: Site, reader: &mut Reader<'_>, ty: Ty, depth: usize) -> Result<Value> {
    if ty.is_varint() {
        let raw = varint_field(site.key, reader, site.msg.name)?;
        return Ok(varint_value(ty, raw));
    }
    let (bytes, at) = len_field(site.key, reader, site.msg.name)?;
    len_value(ty, bytes, at, depth)
}

/// int32 values travel sign-extended to 64 bits; truncation is the protobuf
/// rule for them.
fn varint_value(ty: Ty, raw: u64) -> Value {
    match ty {
        Ty::I32 => Value::from(raw as i32),
        Ty::Bool => Value::Bool(raw != 0),
        _ => Value::from(raw as i64),
    }
}

/// Converts a length-delimited value of type `ty` found at `at`.
fn len_value(ty: Ty, bytes: &[u8], at: usize, depth: usize) -> Result<Value> {
    Ok(match ty {
        Ty::Str => Value::String(String::from_utf8_lossy(bytes).into_owned()),
        Ty::Bytes => Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
        Ty::Msg(name) => {
            let mut object = JsonMap::new();
            message_into(bytes, at, message(name)?, &mut object, depth + 1)?;
            Value::Object(object)
        }
        Ty::Time => time(bytes, at, TIME)?,
        Ty::MicroTime => time(bytes, at, MICRO_TIME)?,
        Ty::Timestamp => timestamp(bytes, at)?,
        Ty::Duration => duration(bytes, at)?,
        Ty::IntOrString => int_or_string(bytes, at)?,
        Ty::Quantity => quantity(bytes, at)?,
        Ty::RawExtension => embedded_json(bytes, at, RAW_EXTENSION, depth)?,
        Ty::FieldsV1 => embedded_json(bytes, at, FIELDS_V1, depth)?,
        // Varint types never reach here: `value` reads them as varints.
        Ty::I32 | Ty::I64 | Ty::Bool => varint_value(ty, 0),
    })
}

fn is_zero(value: &Value) -> bool {
    match value {
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_i64() == Some(0),
        Value::Bool(b) => !b,
        _ => false,
    }
}

/// `{1: seconds, 2: nanos}` as in Time, MicroTime and Timestamp.
fn seconds_nanos(bytes: &[u8], at: usize, message: &'static str) -> Result<(i64, i32)> {
    let (mut seconds, mut nanos) = (0i64, 0i32);
    scan(bytes, at, |key, reader| {
        match key.number {
            1 => seconds = varint_field(key, reader, message)? as i64,
            2 => nanos = varint_field(key, reader, message)? as i32,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok((seconds, nanos))
}

/// Time → "2006-01-02T15:04:05Z", MicroTime → "2006-01-02T15:04:05.000000Z"
/// (UTC, truncated as Go formats them); the zero time (empty) → null.
fn time(bytes: &[u8], at: usize, message: &'static str) -> Result<Value> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    let (seconds, nanos) = seconds_nanos(bytes, at, message)?;
    // Like Go's time.Unix: nanoseconds outside [0, 1e9) carry into seconds.
    let seconds = seconds.checked_add(i64::from(nanos.div_euclid(1_000_000_000)));
    let nanos = nanos.rem_euclid(1_000_000_000);
    let timestamp = seconds
        .ok_or_else(|| "seconds overflow".to_owned())
        .and_then(|s| jiff::Timestamp::new(s, 0).map_err(|e| e.to_string()))
        .map_err(|reason| ProtobufError::InvalidValue {
            message,
            offset: at,
            reason,
        })?;
    let t = jiff::tz::TimeZone::UTC.to_datetime(timestamp);
    let text = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    Ok(Value::String(match message {
        MICRO_TIME => format!("{text}.{:06}Z", nanos / 1000),
        _ => format!("{text}Z"),
    }))
}

/// meta/v1 Timestamp is a plain Go struct: `{"seconds": s, "nanos": n}`.
fn timestamp(bytes: &[u8], at: usize) -> Result<Value> {
    let (seconds, nanos) = seconds_nanos(bytes, at, TIMESTAMP)?;
    Ok(serde_json::json!({ "seconds": seconds, "nanos": nanos }))
}

/// Duration `{1: nanoseconds}` → Go's `time.Duration.String()`.
fn duration(bytes: &[u8], at: usize) -> Result<Value> {
    let mut nanos = 0i64;
    scan(bytes, at, |key, reader| {
        if key.number != 1 {
            return Ok(false);
        }
        nanos = varint_field(key, reader, DURATION)? as i64;
        Ok(true)
    })?;
    Ok(Value::String(go_duration(nanos)))
}

/// Go's `time.Duration.String()`: "0s", "1.5µs", "500ms", "1m30s", "1h0m0s".
pub(super) fn go_duration(nanos: i64) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let u = nanos.unsigned_abs();
    if u == 0 {
        return "0s".to_owned();
    }
    if u < 1_000_000_000 {
        let (precision, unit) = match u {
            0..1_000 => (0, "ns"),
            1_000..1_000_000 => (3, "µs"),
            _ => (6, "ms"),
        };
        let (whole, frac) = split_fraction(u, precision);
        return format!("{sign}{whole}{frac}{unit}");
    }
    let (secs, frac) = split_fraction(u, 9);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, secs / 60) {
        (0, 0) => format!("{sign}{s}{frac}s"),
        (0, _) => format!("{sign}{m}m{s}{frac}s"),
        _ => format!("{sign}{h}h{m}m{s}{frac}s"),
    }
}

/// `v / 10^precision` as (whole part, ".fraction" without trailing zeros).
fn split_fraction(v: u64, precision: u32) -> (u64, String) {
    let scale = 10u64.pow(precision);
    let frac = v % scale;
    if frac == 0 {
        return (v / scale, String::new());
    }
    let digits = format!("{frac:0width$}", width = precision as usize);
    (v / scale, format!(".{}", digits.trim_end_matches('0')))
}

/// IntOrString `{1: type (0 int, 1 string), 2: intVal, 3: strVal}`.
fn int_or_string(bytes: &[u8], at: usize) -> Result<Value> {
    let (mut kind, mut int_val, mut str_val) = (0i64, 0i32, String::new());
    scan(bytes, at, |key, reader| {
        match key.number {
            1 => kind = varint_field(key, reader, INT_OR_STRING)? as i64,
            2 => int_val = varint_field(key, reader, INT_OR_STRING)? as i32,
            3 => str_val = string_field(key, reader, INT_OR_STRING)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    match kind {
        0 => Ok(Value::from(int_val)),
        1 => Ok(Value::String(str_val)),
        other => Err(ProtobufError::InvalidValue {
            message: INT_OR_STRING,
            offset: at,
            reason: format!("type {other} is neither 0 (int) nor 1 (string)"),
        }),
    }
}

/// Quantity `{1: string}`; the zero Quantity is "0".
fn quantity(bytes: &[u8], at: usize) -> Result<Value> {
    let mut text = String::new();
    scan(bytes, at, |key, reader| {
        if key.number != 1 {
            return Ok(false);
        }
        text = string_field(key, reader, QUANTITY)?;
        Ok(true)
    })?;
    if text.is_empty() {
        text.push('0');
    }
    Ok(Value::String(text))
}

/// RawExtension / FieldsV1 `{1: raw}` → the embedded JSON document; a raw
/// RawExtension holding a protobuf envelope is decoded too. Absent → null.
fn embedded_json(bytes: &[u8], at: usize, message: &'static str, depth: usize) -> Result<Value> {
    let mut raw: Option<(&[u8], usize)> = None;
    scan(bytes, at, |key, reader| {
        if key.number != 1 {
            return Ok(false);
        }
        raw = Some(len_field(key, reader, message)?);
        Ok(true)
    })?;
    match raw {
        None | Some(([], _)) => Ok(Value::Null),
        Some((raw, _)) if message == RAW_EXTENSION && raw.starts_with(MAGIC) => {
            decode_envelope(raw, None, depth + 1)
        }
        Some((raw, offset)) => {
            serde_json::from_slice(raw).map_err(|source| ProtobufError::EmbeddedJson {
                message,
                offset,
                source,
            })
        }
    }
}
