//! The protobuf wire format, read without allocating: a message is a run of
//! (key varint, value) pairs, the key holding the field number and the wire
//! type (https://protobuf.dev/programming-guides/encoding/). Every read is
//! bounds-checked, so truncated or hostile bytes end in [`WireError`], never
//! a panic.

use super::WireError;

/// One field's value as the wire carries it.
#[derive(Debug, Clone, Copy)]
pub enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Len(&'a [u8]),
}

impl Wire<'_> {
    pub fn type_name(&self) -> &'static str {
        match self {
            Wire::Varint(_) => "varint",
            Wire::Fixed64(_) => "fixed64",
            Wire::Fixed32(_) => "fixed32",
            Wire::Len(_) => "length-delimited",
        }
    }
}

fn malformed(what: &str) -> WireError {
    WireError::Malformed(what.to_string())
}

pub fn varint(b: &[u8], pos: &mut usize) -> Result<u64, WireError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*pos).ok_or_else(|| malformed("unexpected EOF"))?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(malformed("integer overflow"))
}

fn take<'a>(b: &'a [u8], pos: &mut usize, n: usize) -> Result<&'a [u8], WireError> {
    let end = pos
        .checked_add(n)
        .filter(|e| *e <= b.len())
        .ok_or_else(|| malformed("unexpected EOF"))?;
    let s = &b[*pos..end];
    *pos = end;
    Ok(s)
}

/// Iterates over the fields of one message: `(number, value)`.
pub struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
}

pub fn fields(buf: &[u8]) -> Fields<'_> {
    Fields { buf, pos: 0 }
}

impl<'a> Fields<'a> {
    fn read(&mut self) -> Result<(u64, Wire<'a>), WireError> {
        let b = self.buf;
        let key = varint(b, &mut self.pos)?;
        let num = key >> 3;
        if num == 0 {
            return Err(malformed("illegal tag 0"));
        }
        let value = match key & 7 {
            0 => Wire::Varint(varint(b, &mut self.pos)?),
            1 => {
                let s = take(b, &mut self.pos, 8)?;
                Wire::Fixed64(u64::from_le_bytes(
                    s.try_into().map_err(|_| malformed("fixed64"))?,
                ))
            }
            2 => {
                let len = usize::try_from(varint(b, &mut self.pos)?)
                    .map_err(|_| malformed("negative length"))?;
                Wire::Len(take(b, &mut self.pos, len)?)
            }
            5 => {
                let s = take(b, &mut self.pos, 4)?;
                Wire::Fixed32(u32::from_le_bytes(
                    s.try_into().map_err(|_| malformed("fixed32"))?,
                ))
            }
            t => return Err(WireError::Malformed(format!("illegal wire type {t}"))),
        };
        Ok((num, value))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, Wire<'a>), WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let r = self.read();
        if r.is_err() {
            // Stop after the first error: the rest of the buffer is unframed.
            self.pos = self.buf.len();
        }
        Some(r)
    }
}
