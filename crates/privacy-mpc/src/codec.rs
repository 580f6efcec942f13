//! A tiny, strict reader and writer for the byte formats of this crate (shares, protocol
//! messages, PSI sets).
//!
//! Every format starts with a version byte (after a magic where it has one), read with
//! [`Reader::version`]: a build refuses, as [`MpcError::UnsupportedVersion`], a message written
//! under another layout instead of misreading it. Every format is length-checked: a reader refuses to read past the end, and
//! [`Reader::finish`] refuses trailing bytes, so an input has exactly one parse. Lengths read
//! from the input are bounded before anything is allocated, so a hostile length prefix cannot
//! make a party allocate gigabytes. The trade-off is hand-written parsing instead of a serde
//! format: it keeps the exact byte layout visible and fuzzable.

use crate::error::MpcError;

/// Builds a message.
#[derive(Default)]
pub(crate) struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    /// An empty message with room for `capacity` bytes.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self { bytes: Vec::with_capacity(capacity) }
    }

    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.bytes.push(v);
        self
    }

    pub(crate) fn u16(&mut self, v: u16) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub(crate) fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(v);
        self
    }

    pub(crate) fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

/// Parses a message, refusing short and over-long input.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`, naming `what` in its errors.
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Self { rest: bytes, what }
    }

    fn malformed(&self, reason: &'static str) -> MpcError {
        MpcError::Malformed { what: self.what, reason }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], MpcError> {
        if self.rest.len() < n {
            return Err(self.malformed("truncated"));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], MpcError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, MpcError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, MpcError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, MpcError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, MpcError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Expects the format version `version`; any other is [`MpcError::UnsupportedVersion`], so
    /// a message from a newer or older build is refused by name rather than misread.
    pub(crate) fn version(&mut self, version: u8) -> Result<(), MpcError> {
        let found = self.u8()?;
        if found == version {
            Ok(())
        } else {
            Err(MpcError::UnsupportedVersion { what: self.what, found })
        }
    }

    /// Expects one fixed byte (a tag).
    pub(crate) fn expect(&mut self, byte: u8, reason: &'static str) -> Result<(), MpcError> {
        if self.u8()? == byte {
            Ok(())
        } else {
            Err(self.malformed(reason))
        }
    }

    /// A count of items of `item_len` bytes each, refused when the rest of the input cannot
    /// hold that many (so nothing is allocated for a lying prefix).
    pub(crate) fn count(&mut self, item_len: usize) -> Result<usize, MpcError> {
        let n = usize::try_from(self.u64()?).map_err(|_| self.malformed("count too large"))?;
        match n.checked_mul(item_len) {
            Some(total) if total <= self.rest.len() => Ok(n),
            _ => Err(self.malformed("count exceeds the data")),
        }
    }

    /// Refuses trailing bytes.
    pub(crate) fn finish(self) -> Result<(), MpcError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(self.malformed("trailing bytes"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_refuses_short_long_and_lying_counts() {
        let mut w = Writer::default();
        w.u8(7).u64(2).bytes(&[1, 2, 3, 4]);
        let bytes = w.finish();
        let mut r = Reader::new(&bytes, "test");
        r.expect(7, "tag").unwrap();
        assert_eq!(r.count(2).unwrap(), 2);
        assert_eq!(r.take(4).unwrap(), &[1, 2, 3, 4]);
        r.finish().unwrap();

        let mut r = Reader::new(&bytes, "test");
        r.expect(7, "tag").unwrap();
        assert!(matches!(
            r.count(3),
            Err(MpcError::Malformed { reason: "count exceeds the data", .. })
        ));
        let mut r = Reader::new(&bytes[..3], "test");
        assert!(r.expect(8, "tag").is_err());
        let r = Reader::new(&bytes, "test");
        assert!(matches!(r.finish(), Err(MpcError::Malformed { reason: "trailing bytes", .. })));
    }
}
