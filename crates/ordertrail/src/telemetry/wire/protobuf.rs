//! A protobuf writer for the few wire types OTLP uses, in one pass over one buffer.
//!
//! A nested message is written in place: [`Writer::open`] writes its tag and keeps
//! [`LENGTH_ROOM`] bytes for its length, the fields follow, and [`Writer::close`] writes the
//! length as a minimal varint and moves the fields back over the unused room. Each message's
//! size is known once, when it closes, so nothing is measured twice (a generated encoder asks
//! every nested message for its length at every level above it).

/// Bytes kept for a nested message's length: a varint of up to 2^35 - 1.
const LENGTH_ROOM: usize = 5;

/// Wire type of varints (integers, enums, booleans).
const VARINT: u32 = 0;
/// Wire type of 64-bit fixed fields (`fixed64`, `double`).
const FIXED64: u32 = 1;
/// Wire type of length-delimited fields (strings, bytes, messages).
const LEN: u32 = 2;
/// Wire type of 32-bit fixed fields (`fixed32`).
const FIXED32: u32 = 5;

/// A protobuf message being written into a byte buffer.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

/// Where an open nested message starts: the room for its length. Pass it to
/// [`Writer::close`].
#[derive(Debug)]
#[must_use = "an open message must be closed"]
pub(crate) struct Open(usize);

impl Writer {
    /// A writer with `capacity` bytes reserved.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: Vec::with_capacity(capacity),
        }
    }

    /// The bytes written so far.
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.buf.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.buf.push(value as u8);
    }

    fn tag(&mut self, field: u32, wire_type: u32) {
        self.varint(u64::from(field << 3 | wire_type));
    }

    /// A `uint64`/`uint32`/enum field (an `int64` as `value as u64`: negative numbers take ten
    /// bytes); zero is the default and is not written.
    pub(crate) fn uint(&mut self, field: u32, value: u64) {
        if value != 0 {
            self.always_uint(field, value);
        }
    }

    /// A varint field written even when zero (it sits in a `oneof`).
    pub(crate) fn always_uint(&mut self, field: u32, value: u64) {
        self.tag(field, VARINT);
        self.varint(value);
    }

    /// A `fixed64` field; zero is not written.
    pub(crate) fn fixed64(&mut self, field: u32, value: u64) {
        if value != 0 {
            self.tag(field, FIXED64);
            self.buf.extend_from_slice(&value.to_le_bytes());
        }
    }

    /// A `double` field, written whatever its value (it sits in a `oneof`).
    pub(crate) fn double(&mut self, field: u32, value: f64) {
        self.tag(field, FIXED64);
        self.buf.extend_from_slice(&value.to_le_bytes());
    }

    /// A `fixed32` field; zero is not written.
    pub(crate) fn fixed32(&mut self, field: u32, value: u32) {
        if value != 0 {
            self.tag(field, FIXED32);
            self.buf.extend_from_slice(&value.to_le_bytes());
        }
    }

    /// A `bytes` or `string` field; empty is not written.
    pub(crate) fn bytes(&mut self, field: u32, value: &[u8]) {
        if !value.is_empty() {
            self.always_bytes(field, value);
        }
    }

    /// A `string` field; empty is not written.
    pub(crate) fn string(&mut self, field: u32, value: &str) {
        self.bytes(field, value.as_bytes());
    }

    /// A `bytes` or `string` field written even when empty (it sits in a `oneof`).
    pub(crate) fn always_bytes(&mut self, field: u32, value: &[u8]) {
        self.tag(field, LEN);
        self.varint(value.len() as u64);
        self.buf.extend_from_slice(value);
    }

    /// Starts nested message `field`; its fields follow, then [`Writer::close`].
    pub(crate) fn open(&mut self, field: u32) -> Open {
        self.tag(field, LEN);
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; LENGTH_ROOM]);
        Open(at)
    }

    /// Ends the nested message started at `open`: its length, then its fields.
    pub(crate) fn close(&mut self, open: Open) {
        let Open(at) = open;
        let start = at + LENGTH_ROOM;
        let length = self.buf.len() - start;
        let mut room = [0u8; LENGTH_ROOM];
        let mut used = 0;
        let mut value = length as u64;
        while value >= 0x80 {
            room[used] = (value as u8) | 0x80;
            value >>= 7;
            used += 1;
        }
        room[used] = value as u8;
        used += 1;
        self.buf[at..at + used].copy_from_slice(&room[..used]);
        if used < LENGTH_ROOM {
            self.buf.copy_within(start.., at + used);
            self.buf.truncate(at + used + length);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    /// A message with every wire type this writer has, as a generated decoder sees it.
    #[derive(Clone, PartialEq, prost::Message)]
    struct Sample {
        #[prost(uint64, tag = "1")]
        number: u64,
        #[prost(int64, tag = "2")]
        signed: i64,
        #[prost(fixed64, tag = "3")]
        time: u64,
        #[prost(fixed32, tag = "4")]
        flags: u32,
        #[prost(string, tag = "5")]
        text: String,
        #[prost(message, repeated, tag = "6")]
        children: Vec<Sample>,
        #[prost(double, tag = "7")]
        real: f64,
        #[prost(bool, tag = "8")]
        yes: bool,
    }

    fn write(writer: &mut Writer, sample: &Sample) {
        writer.uint(1, sample.number);
        writer.uint(2, sample.signed as u64);
        writer.fixed64(3, sample.time);
        writer.fixed32(4, sample.flags);
        writer.string(5, &sample.text);
        for child in &sample.children {
            let open = writer.open(6);
            write(writer, child);
            writer.close(open);
        }
        if sample.real != 0.0 {
            writer.double(7, sample.real);
        }
        writer.uint(8, u64::from(sample.yes));
    }

    fn sample(depth: u32, text_len: usize) -> Sample {
        Sample {
            number: 300 * u64::from(depth),
            signed: -7,
            time: 1_700_000_000_000_000_000,
            flags: 0x101,
            text: "x".repeat(text_len),
            children: (0..depth.min(2))
                .map(|_| sample(depth - 1, text_len))
                .collect(),
            real: 0.5,
            yes: depth.is_multiple_of(2),
        }
    }

    #[test]
    fn nested_messages_decode_as_written() {
        // Lengths of one, two and three varint bytes at several depths.
        for text_len in [0, 5, 200, 20_000] {
            let expected = sample(4, text_len);
            let mut writer = Writer::default();
            write(&mut writer, &expected);
            let bytes = writer.into_bytes();
            assert_eq!(bytes, expected.encode_to_vec(), "text of {text_len}");
            assert_eq!(Sample::decode(bytes.as_slice()).unwrap(), expected);
        }
    }

    #[test]
    fn defaults_are_not_written() {
        let mut writer = Writer::default();
        write(&mut writer, &Sample::default());
        assert!(writer.into_bytes().is_empty());
    }
}
