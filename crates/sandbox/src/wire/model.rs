//! The types the generated [`super::schema`] tables are made of. They are
//! plain `'static` data so a lookup costs an index or a binary search, with
//! no initialisation at start-up.

/// A field's value type on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Bytes,
    Bool,
    I32,
    I64,
    U64,
    F64,
    F32,
    /// A message, by index into [`super::schema::MESSAGES`].
    Msg(usize),
}

/// Singular, repeated, or `map<string, kind>` (every Kubernetes map has
/// string keys; the generator refuses any other).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    One,
    Many,
    Map,
    /// A Go struct embedded with `json:",inline"` (Volume's VolumeSource):
    /// its fields go into the parent's JSON object.
    Inline,
}

/// How a message turns into JSON: most are objects, a few Go types have their
/// own MarshalJSON (see `super::convert`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Object,
    /// meta/v1 Time: RFC 3339 in seconds; omitted when zero.
    Time,
    /// meta/v1 MicroTime: RFC 3339 with microseconds.
    MicroTime,
    /// meta/v1 Duration: a Go duration string.
    Duration,
    /// runtime.RawExtension, meta/v1 FieldsV1: the embedded JSON.
    Raw,
    /// resource.Quantity: its canonical string.
    Quantity,
    /// intstr.IntOrString: a number or a string.
    IntOrString,
    /// A Go slice type wrapped in a message (`type ExtraValue []string`): the array.
    Items,
}

#[derive(Debug)]
pub struct Field {
    pub num: u32,
    /// The proto field name, which is also the JSON name in Kubernetes protos.
    pub name: &'static str,
    pub kind: Kind,
    pub label: Label,
}

/// Keeps the generated tables one line a field.
pub const fn f(num: u32, name: &'static str, kind: Kind, label: Label) -> Field {
    Field {
        num,
        name,
        kind,
        label,
    }
}

#[derive(Debug)]
pub struct Message {
    /// The full proto name, for error messages.
    pub name: &'static str,
    pub shape: Shape,
    /// Sorted by field number.
    pub fields: &'static [Field],
}

impl Message {
    pub fn field(&self, num: u64) -> Option<&'static Field> {
        let fields: &'static [Field] = self.fields;
        fields
            .binary_search_by_key(&num, |f| u64::from(f.num))
            .ok()
            .map(|i| &fields[i])
    }
}

/// A kind a client may send, and the message its `raw` bytes hold.
#[derive(Debug)]
pub struct TopKind {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub message: usize,
}
