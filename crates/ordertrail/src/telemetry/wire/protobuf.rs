//! A protobuf writer for the few wire types OTLP uses, in one pass over one buffer.
//!
//! A nested message is written in place: [`Writer::open`] writes its tag and keeps
//! [`LENGTH_ROOM`] bytes for its length, the fields follow, and [`Writer::close`] writes the
//! length. Each message's size is known once, when it closes, so nothing is measured twice (a
//! generated encoder asks every nested message for its length at every level above it). An
//! attribute's length is computed up front ([`Writer::key_scalar`]): most messages are those,
//! and they move nothing.
//!
//! A short message (under [`PADDED_FROM`] bytes) gets a one-byte length and its fields move
//! back over the unused room. A longer one keeps all five bytes: its length is written as a
//! padded varint (continuation bits set on the leading groups, as in `0x85 0x80 0x80 0x80
//! 0x00` for 5), which every protobuf decoder reads as the same number, so nothing moves. A
//! span, a batch's scope and its resource would otherwise each be copied once more; the
//! price is at most four bytes on a message of at least 128.

use bytes::Bytes;

/// Bytes kept for a nested message's length: a varint of up to 2^35 - 1.
const LENGTH_ROOM: usize = 5;

/// Messages of this many bytes and more keep a padded five-byte length instead of moving.
const PADDED_FROM: usize = 128;

/// Wire type of varints (integers, enums, booleans).
const VARINT: u32 = 0;
/// Wire type of 64-bit fixed fields (`fixed64`, `double`).
const FIXED64: u32 = 1;
/// Wire type of length-delimited fields (strings, bytes, messages).
const LEN: u32 = 2;
/// Wire type of 32-bit fixed fields (`fixed32`).
const FIXED32: u32 = 5;

/// Bytes kept in front of an export request for the gRPC frame header (a compression flag
/// and the message's length), so sending it over gRPC copies nothing.
const FRAME_ROOM: usize = 5;

/// An encoded export request, with room in front for its gRPC frame header.
#[derive(Debug)]
pub(crate) struct Encoded(Vec<u8>);

impl Encoded {
    /// The protobuf message.
    #[cfg(test)]
    pub(crate) fn message(&self) -> &[u8] {
        &self.0[FRAME_ROOM..]
    }

    /// The message as one uncompressed gRPC frame: flag 0, its length, itself.
    pub(crate) fn into_grpc_frame(mut self) -> Bytes {
        let length = (self.0.len() - FRAME_ROOM) as u32;
        self.0[0] = 0;
        self.0[1..FRAME_ROOM].copy_from_slice(&length.to_be_bytes());
        Bytes::from(self.0)
    }

    /// The message alone, as an OTLP/HTTP body.
    pub(crate) fn into_message(self) -> Bytes {
        Bytes::from(self.0).slice(FRAME_ROOM..)
    }
}

/// A protobuf message being written into a byte buffer.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

/// A value that fits one field of an `AnyValue`: its size is known before it is written.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scalar<'a> {
    /// A length-delimited field (`string_value`, `bytes_value`).
    Bytes(u32, &'a [u8]),
    /// A varint field (`bool_value`, `int_value`).
    Varint(u32, u64),
    /// A `double` field (`double_value`).
    Double(u32, f64),
}

impl Scalar<'_> {
    /// Bytes of the field: tag and value.
    fn size(self) -> usize {
        match self {
            Self::Bytes(field, bytes) => {
                tag_size(field) + varint_size(bytes.len() as u64) + bytes.len()
            }
            Self::Varint(field, value) => tag_size(field) + varint_size(value),
            Self::Double(field, _) => tag_size(field) + 8,
        }
    }
}

/// Bytes of `value` as a varint.
fn varint_size(value: u64) -> usize {
    // One byte per started group of seven bits, and one for zero.
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

/// Bytes of a tag of `field` (tags of the small field numbers OTLP uses take one or two).
fn tag_size(field: u32) -> usize {
    varint_size(u64::from(field << 3))
}

/// Where an open nested message starts: the room for its length. Pass it to
/// [`Writer::close`].
#[derive(Debug)]
#[must_use = "an open message must be closed"]
pub(crate) struct Open(usize);

impl Writer {
    /// A writer of an export request of about `capacity` bytes.
    pub(crate) fn request(capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(FRAME_ROOM + capacity);
        buf.extend_from_slice(&[0; FRAME_ROOM]);
        Self { buf }
    }

    /// The request written.
    pub(crate) fn finish(self) -> Encoded {
        Encoded(self.buf)
    }

    /// A writer appending to `buf`.
    pub(crate) fn appending(buf: Vec<u8>) -> Self {
        Self { buf }
    }

    /// The bytes written so far.
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Bytes already encoded (repeated fields written elsewhere), as they are.
    pub(crate) fn raw(&mut self, encoded: &[u8]) {
        self.buf.extend_from_slice(encoded);
    }

    #[inline]
    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.buf.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.buf.push(value as u8);
    }

    #[inline]
    fn tag(&mut self, field: u32, wire_type: u32) {
        self.varint(u64::from(field << 3 | wire_type));
    }

    /// A `uint64`/`uint32`/enum field (an `int64` as `value as u64`: negative numbers take ten
    /// bytes); zero is the default and is not written.
    #[inline]
    pub(crate) fn uint(&mut self, field: u32, value: u64) {
        if value != 0 {
            self.always_uint(field, value);
        }
    }

    /// A varint field written even when zero (it sits in a `oneof`).
    #[inline]
    pub(crate) fn always_uint(&mut self, field: u32, value: u64) {
        self.tag(field, VARINT);
        self.varint(value);
    }

    /// A `fixed64` field; zero is not written.
    #[inline]
    pub(crate) fn fixed64(&mut self, field: u32, value: u64) {
        if value != 0 {
            self.tag(field, FIXED64);
            self.buf.extend_from_slice(&value.to_le_bytes());
        }
    }

    /// A `double` field, written whatever its value (it sits in a `oneof`).
    #[inline]
    pub(crate) fn double(&mut self, field: u32, value: f64) {
        self.tag(field, FIXED64);
        self.buf.extend_from_slice(&value.to_le_bytes());
    }

    /// A `fixed32` field; zero is not written.
    #[inline]
    pub(crate) fn fixed32(&mut self, field: u32, value: u32) {
        if value != 0 {
            self.tag(field, FIXED32);
            self.buf.extend_from_slice(&value.to_le_bytes());
        }
    }

    /// A `bytes` or `string` field; empty is not written.
    #[inline]
    pub(crate) fn bytes(&mut self, field: u32, value: &[u8]) {
        if !value.is_empty() {
            self.always_bytes(field, value);
        }
    }

    /// A `string` field; empty is not written.
    #[inline]
    pub(crate) fn string(&mut self, field: u32, value: &str) {
        self.bytes(field, value.as_bytes());
    }

    /// A `bytes` or `string` field written even when empty (it sits in a `oneof`).
    #[inline]
    pub(crate) fn always_bytes(&mut self, field: u32, value: &[u8]) {
        self.tag(field, LEN);
        self.varint(value.len() as u64);
        self.buf.extend_from_slice(value);
    }

    /// One field of a oneof (an `AnyValue`'s value), written whatever its value.
    #[inline]
    pub(crate) fn scalar(&mut self, scalar: Scalar<'_>) {
        match scalar {
            Scalar::Bytes(field, bytes) => self.always_bytes(field, bytes),
            Scalar::Varint(field, value) => self.always_uint(field, value),
            Scalar::Double(field, value) => self.double(field, value),
        }
    }

    /// A `KeyValue` message as field `field`: `key` (field 1) and an `AnyValue` (field 2)
    /// holding `value`, with both lengths computed up front instead of moved into place.
    #[inline]
    pub(crate) fn key_scalar(&mut self, field: u32, key: &str, value: Scalar<'_>) {
        let any = value.size();
        let key_size = if key.is_empty() {
            0
        } else {
            tag_size(1) + varint_size(key.len() as u64) + key.len()
        };
        let body = key_size + tag_size(2) + varint_size(any as u64) + any;
        self.tag(field, LEN);
        self.varint(body as u64);
        self.bytes(1, key.as_bytes());
        self.tag(2, LEN);
        self.varint(any as u64);
        self.scalar(value);
    }

    /// Starts nested message `field`; its fields follow, then [`Writer::close`].
    #[inline]
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
        if length < PADDED_FROM {
            self.buf[at] = length as u8;
            self.buf.copy_within(start.., at + 1);
            self.buf.truncate(at + 1 + length);
        } else {
            self.buf[at..start].copy_from_slice(&padded_varint(length));
        }
    }
}

/// `value` (under 2^35) as a varint of exactly [`LENGTH_ROOM`] bytes.
fn padded_varint(value: usize) -> [u8; LENGTH_ROOM] {
    let value = value as u64;
    let mut out = [0u8; LENGTH_ROOM];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = ((value >> (7 * i)) & 0x7f) as u8 | 0x80;
    }
    out[LENGTH_ROOM - 1] &= 0x7f;
    out
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

    /// Messages in `sample` (itself included).
    fn messages(sample: &Sample) -> usize {
        1 + sample.children.iter().map(messages).sum::<usize>()
    }

    #[test]
    fn nested_messages_decode_as_written() {
        // Short messages (minimal lengths) and long ones (padded lengths) at several depths.
        for text_len in [0, 5, 200, 20_000] {
            let expected = sample(4, text_len);
            let mut writer = Writer::default();
            write(&mut writer, &expected);
            let bytes = writer.into_bytes();
            assert_eq!(Sample::decode(bytes.as_slice()).unwrap(), expected);
            let padding = 4 * messages(&expected);
            let minimal = expected.encoded_len();
            assert!(bytes.len() <= minimal + padding, "text of {text_len}");
        }
    }

    #[test]
    fn short_nested_messages_are_written_as_a_generated_encoder_writes_them() {
        let expected = sample(1, 5);
        assert!(expected.encoded_len() < PADDED_FROM);
        let mut writer = Writer::default();
        write(&mut writer, &expected);
        assert_eq!(writer.into_bytes(), expected.encode_to_vec());
    }

    #[test]
    fn a_long_message_keeps_a_padded_length_and_a_short_one_a_byte() {
        let mut writer = Writer::default();
        let open = writer.open(1);
        writer.string(1, &"x".repeat(PADDED_FROM - 2));
        writer.close(open);
        let bytes = writer.into_bytes();
        assert_eq!(bytes[1..6], [0x80, 0x81, 0x80, 0x80, 0x00], "128, padded");
        assert_eq!(bytes.len(), 1 + 5 + PADDED_FROM);

        let mut writer = Writer::default();
        let open = writer.open(1);
        writer.string(1, "abc");
        writer.close(open);
        assert_eq!(writer.into_bytes(), [10, 5, 10, 3, b'a', b'b', b'c']);
    }

    #[test]
    fn padded_varints_read_back_as_their_values() {
        for value in [128_usize, 300, 16_384, (1 << 28) - 1, (1 << 35) - 1] {
            let padded = padded_varint(value);
            let read = prost::encoding::decode_varint(&mut &padded[..]).unwrap();
            assert_eq!(read, value as u64);
        }
    }

    /// `KeyValue { key, value: AnyValue }` as a generated decoder sees it.
    #[derive(Clone, PartialEq, prost::Message)]
    struct Pair {
        #[prost(string, tag = "1")]
        key: String,
        #[prost(message, optional, tag = "2")]
        value: Option<Any>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct Any {
        #[prost(oneof = "AnyKind", tags = "1, 3, 4")]
        kind: Option<AnyKind>,
    }

    #[derive(Clone, PartialEq, prost::Oneof)]
    enum AnyKind {
        #[prost(string, tag = "1")]
        Text(String),
        #[prost(int64, tag = "3")]
        Int(i64),
        #[prost(double, tag = "4")]
        Real(f64),
    }

    #[test]
    fn key_scalars_decode_as_their_pairs() {
        let long = "v".repeat(300);
        let cases = [
            (
                "k",
                Scalar::Bytes(1, b"value"),
                AnyKind::Text("value".into()),
            ),
            ("", Scalar::Bytes(1, b""), AnyKind::Text(String::new())),
            (
                "k",
                Scalar::Bytes(1, long.as_bytes()),
                AnyKind::Text(long.clone()),
            ),
            ("n", Scalar::Varint(3, 0), AnyKind::Int(0)),
            ("n", Scalar::Varint(3, -5_i64 as u64), AnyKind::Int(-5)),
            ("x", Scalar::Double(4, 0.25), AnyKind::Real(0.25)),
        ];
        for (key, scalar, kind) in cases {
            let mut writer = Writer::default();
            writer.key_scalar(9, key, scalar);
            let bytes = writer.into_bytes();
            let expected = Pair {
                key: key.into(),
                value: Some(Any { kind: Some(kind) }),
            };
            // Field 9 of an outer message: skip its tag, decode the length-delimited pair.
            let pair = Pair::decode_length_delimited(&bytes[1..]).unwrap();
            assert_eq!(pair, expected, "{key} {scalar:?}");
            assert_eq!(
                bytes.len(),
                1 + expected.encoded_len() + varint_size(expected.encoded_len() as u64)
            );
        }
    }

    #[test]
    fn a_request_is_framed_for_grpc_without_a_copy_and_sent_bare_over_http() {
        let mut writer = Writer::request(16);
        writer.string(1, "abc");
        let encoded = writer.finish();
        assert_eq!(encoded.message(), [10, 3, b'a', b'b', b'c']);
        let frame = Encoded(encoded.0.clone()).into_grpc_frame();
        assert_eq!(frame[..5], [0, 0, 0, 0, 5]);
        assert_eq!(frame[5..], *encoded.message());
        assert_eq!(encoded.into_message()[..], [10, 3, b'a', b'b', b'c']);
    }

    #[test]
    fn varint_sizes() {
        for (value, size) in [
            (0, 1),
            (127, 1),
            (128, 2),
            (16_383, 2),
            (16_384, 3),
            (u64::MAX, 10),
        ] {
            assert_eq!(varint_size(value), size, "{value}");
        }
    }

    #[test]
    fn defaults_are_not_written() {
        let mut writer = Writer::default();
        write(&mut writer, &Sample::default());
        assert!(writer.into_bytes().is_empty());
    }
}
