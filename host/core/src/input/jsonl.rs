//! JSON Lines interchange: one transaction per line in, one verdict per line out.
//!
//! Input, one object per line (hex in either case):
//!
//! ```text
//! {"msg":"<hex>","signers":[{"pubkey":"<32 bytes hex>","sig":"<64 bytes hex>"}, ...]}
//! {"msg":"<hex>","pubkey":"<32 bytes hex>","sig":"<64 bytes hex>"}
//! ```
//!
//! Output, one object per input line, in order:
//!
//! ```text
//! {"valid":true,"sigs":[true,true]}
//! {"valid":false,"sigs":[],"error":"signers[0].pubkey must be 32 bytes, got 31"}
//! ```
//!
//! Design decisions:
//!
//! * **Strict schema.** Unknown fields, a field given twice, `null` for a string, and
//!   an object that mixes the `signers` array with the single-signer shorthand are
//!   malformed lines, not guesses: a typo such as `"sigs"` must not silently drop a
//!   signer from what is checked. Objects must be objects (serde's derived structs
//!   would also accept a JSON array of field values, which is why the visitors here are
//!   written by hand). Each malformed line gets a reason that names the offending
//!   field (`signers[1].pubkey: bad hex: ...`), because the person reading it has a
//!   file of millions of lines and no other clue.
//! * **One line, one transaction** (see [`crate::input`]): a bad line stays in the
//!   batch as malformed so that output line `i` answers input line `i`. Malformed JSON
//!   lines have an empty leaf: there is no canonical form to hash.
//! * **No allocation per well-formed line.** Strings are borrowed from the input
//!   (`Cow<str>`: a string with escapes has to be unescaped into an owned copy, which
//!   is rare for hex); the `signers` array is decoded into one reused `Vec<Signer>` as
//!   it is read (a serde seed), and the message into one reused buffer; the builder
//!   copies both into its arena. Only malformed lines allocate (their reason).
//! * Invalid UTF-8 is a malformed line, like any other bad line: one corrupt record
//!   must not sink a batch.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write};

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::batch::{Batch, BatchBuilder, BatchError, Signer, Verdicts, PUBKEY_LEN, SIG_LEN};

/// A JSON string, borrowed from the input unless it had escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// Stores a field's value, refusing a second one.
fn put<'a, E: de::Error>(
    slot: &mut Option<Text<'a>>,
    value: Text<'a>,
    name: &'static str,
) -> Result<(), E> {
    if slot.replace(value).is_some() {
        return Err(E::duplicate_field(name));
    }
    Ok(())
}

const LINE_FIELDS: &[&str] = &["msg", "signers", "pubkey", "sig"];
const SIGNER_FIELDS: &[&str] = &["pubkey", "sig"];

/// What a line holds besides the signers array (which is decoded while it is read).
struct LineFields<'a> {
    msg: Option<Text<'a>>,
    has_signers: bool,
    pubkey: Option<Text<'a>>,
    sig: Option<Text<'a>>,
}

/// Reads one line's object (objects only: serde would also take a struct as an array).
/// The `signers` array is decoded straight into `signers`; the first signer that does
/// not decode is kept in `signer_error` while parsing goes on, so that a JSON error
/// later in the line is still the one reported.
struct LineSeed<'s> {
    signers: &'s mut Vec<Signer>,
    signer_error: &'s mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for LineSeed<'_> {
    type Value = LineFields<'de>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for LineSeed<'_> {
    type Value = LineFields<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a transaction object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = LineFields {
            msg: None,
            has_signers: false,
            pubkey: None,
            sig: None,
        };
        while let Some(key) = map.next_key::<Text<'de>>()? {
            match &*key.0 {
                "msg" => put(&mut fields.msg, map.next_value()?, "msg")?,
                "pubkey" => put(&mut fields.pubkey, map.next_value()?, "pubkey")?,
                "sig" => put(&mut fields.sig, map.next_value()?, "sig")?,
                "signers" => {
                    if fields.has_signers {
                        return Err(de::Error::duplicate_field("signers"));
                    }
                    fields.has_signers = true;
                    map.next_value_seed(SignersSeed {
                        signers: &mut *self.signers,
                        signer_error: &mut *self.signer_error,
                    })?;
                }
                other => return Err(de::Error::unknown_field(other, LINE_FIELDS)),
            }
        }
        Ok(fields)
    }
}

/// Reads the `signers` array, decoding each signer as it comes.
struct SignersSeed<'s> {
    signers: &'s mut Vec<Signer>,
    signer_error: &'s mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for SignersSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for SignersSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of signer objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        while let Some(SignerText { pubkey, sig }) = seq.next_element()? {
            if self.signer_error.is_none() {
                match decode_signer(&pubkey, &sig, Some(index)) {
                    Ok(signer) => self.signers.push(signer),
                    Err(reason) => *self.signer_error = Some(reason),
                }
            }
            index += 1;
        }
        Ok(())
    }
}

/// One element of `signers`, both fields required.
struct SignerText<'a> {
    pubkey: Cow<'a, str>,
    sig: Cow<'a, str>,
}

impl<'de> de::Deserialize<'de> for SignerText<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SignerVisitor;
        impl<'de> Visitor<'de> for SignerVisitor {
            type Value = SignerText<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a signer object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let (mut pubkey, mut sig) = (None, None);
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    match &*key.0 {
                        "pubkey" => put(&mut pubkey, map.next_value()?, "pubkey")?,
                        "sig" => put(&mut sig, map.next_value()?, "sig")?,
                        other => return Err(de::Error::unknown_field(other, SIGNER_FIELDS)),
                    }
                }
                Ok(SignerText {
                    pubkey: pubkey.ok_or_else(|| de::Error::missing_field("pubkey"))?.0,
                    sig: sig.ok_or_else(|| de::Error::missing_field("sig"))?.0,
                })
            }
        }
        deserializer.deserialize_map(SignerVisitor)
    }
}

/// Names a field in reasons: `pubkey` or `signers[3].pubkey`.
#[derive(Clone, Copy)]
struct FieldName {
    signer: Option<usize>,
    field: &'static str,
}

impl fmt::Display for FieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.signer {
            Some(i) => write!(f, "signers[{i}].{}", self.field),
            None => f.write_str(self.field),
        }
    }
}

/// Decodes exactly `N` bytes of hex.
fn decode_fixed<const N: usize>(hex: &str, name: FieldName) -> Result<[u8; N], String> {
    let digits = hex.len();
    if digits != 2 * N {
        return Err(if digits.is_multiple_of(2) {
            format!("{name} must be {N} bytes, got {}", digits / 2)
        } else {
            format!("{name} must be {N} bytes, got an odd number of hex digits ({digits})")
        });
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(hex, &mut out).map_err(|e| format!("{name}: bad hex: {e}"))?;
    Ok(out)
}

fn decode_signer(pubkey: &str, sig: &str, signer: Option<usize>) -> Result<Signer, String> {
    Ok(Signer {
        pubkey: decode_fixed::<PUBKEY_LEN>(
            pubkey,
            FieldName {
                signer,
                field: "pubkey",
            },
        )?,
        signature: decode_fixed::<SIG_LEN>(
            sig,
            FieldName {
                signer,
                field: "sig",
            },
        )?,
    })
}

/// Parses one line into `msg` and `signers` (both cleared first), or says why not.
fn parse_line(line: &[u8], msg: &mut Vec<u8>, signers: &mut Vec<Signer>) -> Result<(), String> {
    msg.clear();
    signers.clear();
    if line.is_empty() {
        return Err("empty line".into());
    }
    let text = std::str::from_utf8(line).map_err(|e| format!("not UTF-8: {e}"))?;
    let mut signer_error = None;
    let mut de = serde_json::Deserializer::from_str(text);
    let fields = LineSeed {
        signers: &mut *signers,
        signer_error: &mut signer_error,
    }
    .deserialize(&mut de)
    .and_then(|fields| de.end().map(|()| fields))
    .map_err(|e| {
        if e.is_data() {
            format!("bad fields: {e}")
        } else {
            format!("bad JSON: {e}")
        }
    })?;

    let msg_hex = fields.msg.ok_or("missing \"msg\"")?;
    match (fields.has_signers, fields.pubkey, fields.sig) {
        (true, Some(_), _) | (true, _, Some(_)) => {
            return Err(
                "\"signers\" mixed with \"pubkey\"/\"sig\": use one form or the other".into(),
            )
        }
        (true, None, None) => {
            if let Some(reason) = signer_error {
                return Err(reason);
            }
        }
        (false, Some(pubkey), Some(sig)) => signers.push(decode_signer(&pubkey.0, &sig.0, None)?),
        (false, None, None) => return Err("missing \"signers\" (or \"pubkey\" and \"sig\")".into()),
        (false, Some(_), None) => return Err("missing \"sig\"".into()),
        (false, None, Some(_)) => return Err("missing \"pubkey\"".into()),
    }

    let hex = msg_hex.0.as_bytes();
    if hex.len() % 2 != 0 {
        return Err(format!(
            "msg: bad hex: odd number of hex digits ({})",
            hex.len()
        ));
    }
    msg.resize(hex.len() / 2, 0);
    hex::decode_to_slice(hex, msg).map_err(|e| format!("msg: bad hex: {e}"))
}

/// Reads JSON Lines into a batch, one transaction per line (see the module docs).
/// Lines that do not parse are malformed transactions with their reason; only running
/// out of arena space is an error. A signer count outside 1..=255 is recorded by
/// [`BatchBuilder::push_generic`].
pub fn parse_batch(input: &[u8]) -> Result<Batch, BatchError> {
    // Hex doubles the bytes and the JSON around it adds more: half the input bounds the
    // arena well enough.
    let mut builder = BatchBuilder::with_capacity(super::line_count(input), input.len() / 2);
    let mut msg = Vec::new();
    let mut signers = Vec::new();
    for line in super::lines(input) {
        match parse_line(line, &mut msg, &mut signers) {
            Ok(()) => builder.push_generic(&msg, &signers)?,
            Err(reason) => builder.push_malformed(&reason, &[])?,
        }
    }
    Ok(builder.finish())
}

/// Writes one verdict line per transaction of `batch`, in order:
/// `{"valid":…,"sigs":[…]}`, plus `"error":"…"` where the transaction could not be
/// parsed. Output is buffered here in chunks, so `out` need not be.
///
/// Fails with [`io::ErrorKind::InvalidInput`] if `verdicts` is not `batch`'s shape.
pub fn write_verdicts(batch: &Batch, verdicts: &Verdicts, out: &mut impl Write) -> io::Result<()> {
    if verdicts.transaction_valid.len() != batch.len()
        || verdicts.signature_valid.len() != batch.signature_count()
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "verdicts for {} transactions and {} signatures, batch has {} and {}",
                verdicts.transaction_valid.len(),
                verdicts.signature_valid.len(),
                batch.len(),
                batch.signature_count()
            ),
        ));
    }
    const CHUNK: usize = 64 * 1024;
    let mut buf = Vec::with_capacity(CHUNK + 1024);
    for (tx, &valid) in verdicts.transaction_valid.iter().enumerate() {
        buf.extend_from_slice(if valid {
            b"{\"valid\":true,\"sigs\":["
        } else {
            b"{\"valid\":false,\"sigs\":["
        });
        for (i, &sig) in verdicts.signatures_of(batch, tx).iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(if sig { b"true" } else { b"false" });
        }
        buf.push(b']');
        if let Some(reason) = batch.error(tx) {
            buf.extend_from_slice(b",\"error\":");
            serde_json::to_writer(&mut buf, reason)?;
        }
        buf.extend_from_slice(b"}\n");
        if buf.len() >= CHUNK {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)
}

/// One input line (no newline) in the `signers` array form, lower-case hex.
pub fn encode_line(message: &[u8], signers: &[Signer]) -> String {
    let mut line = String::with_capacity(
        32 + 2 * message.len() + signers.len() * (24 + 2 * (PUBKEY_LEN + SIG_LEN)),
    );
    line.push_str("{\"msg\":\"");
    line.push_str(&hex::encode(message));
    line.push_str("\",\"signers\":[");
    for (i, signer) in signers.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        line.push_str("{\"pubkey\":\"");
        line.push_str(&hex::encode(signer.pubkey));
        line.push_str("\",\"sig\":\"");
        line.push_str(&hex::encode(signer.signature));
        line.push_str("\"}");
    }
    line.push_str("]}");
    line
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn signer(k: u8) -> Signer {
        Signer {
            pubkey: [k; 32],
            signature: [k.wrapping_add(1); 64],
        }
    }

    fn error_of(line: &str) -> String {
        let batch = parse_batch(line.as_bytes()).unwrap();
        assert_eq!(batch.len(), 1, "{line}");
        assert_eq!(batch.signers_of(0).len(), 0, "{line}");
        assert_eq!(batch.leaves().get(0), b"", "{line}");
        batch.error(0).expect(line).to_owned()
    }

    #[test]
    fn both_forms_parse() {
        let pk = hex::encode([7u8; 32]);
        let sig = hex::encode_upper([8u8; 64]);
        let input = format!(
            "{}\n{{\"pubkey\":\"{pk}\",\"sig\":\"{sig}\",\"msg\":\"00FFaa\"}}\r\n",
            encode_line(b"hi", &[signer(1), signer(2)])
        );
        let batch = parse_batch(input.as_bytes()).unwrap();
        assert_eq!(batch.len(), 2);
        assert_eq!(batch.error(0), None);
        assert_eq!(batch.message(0), b"hi");
        assert_eq!(batch.signers_of(0), 0..2);
        assert_eq!(batch.pubkey(1), &[2u8; 32]);
        assert_eq!(batch.signature(1), &[3u8; 64]);
        assert_eq!(batch.error(1), None);
        assert_eq!(batch.message(1), &[0x00, 0xff, 0xaa]);
        assert_eq!(batch.pubkey(2), &[7u8; 32]);
        assert_eq!(batch.signature(2), &[8u8; 64]);
    }

    #[test]
    fn escaped_strings_are_decoded() {
        // "\u0030\u0031" is "01": it cannot be borrowed, and must still work.
        let pk = hex::encode([7u8; 32]);
        let sig = hex::encode([8u8; 64]);
        let line = format!(
            "{{\"msg\":\"\\u0030\\u0031\",\"pubkey\":\"\\u0030{}\",\"sig\":\"{sig}\"}}",
            &pk[1..]
        );
        let batch = parse_batch(line.as_bytes()).unwrap();
        assert_eq!(batch.error(0), None);
        assert_eq!(batch.message(0), &[0x01]);
        assert_eq!(batch.pubkey(0), &[7u8; 32]);
    }

    #[test]
    fn malformed_lines_say_why() {
        let pk = hex::encode([7u8; 32]);
        let sig = hex::encode([8u8; 64]);
        let ok_signer = format!("{{\"pubkey\":\"{pk}\",\"sig\":\"{sig}\"}}");
        let cases: Vec<(String, &str)> = vec![
            ("{".into(), "bad JSON: "),
            ("{} x".into(), "bad JSON: "),
            (
                "[1]".into(),
                "bad fields: invalid type: sequence, expected a transaction object",
            ),
            (
                r#"{"msg":"00","extra":1}"#.into(),
                "bad fields: unknown field `extra`",
            ),
            (
                r#"{"msg":"00","msg":"00"}"#.into(),
                "bad fields: duplicate field `msg`",
            ),
            (
                r#"{"msg":5}"#.into(),
                "bad fields: invalid type: integer `5`, expected a string",
            ),
            (
                r#"{"msg":null}"#.into(),
                "bad fields: invalid type: null, expected a string",
            ),
            (
                r#"{"msg":"","signers":null}"#.into(),
                "bad fields: invalid type: null, expected an array of signer objects",
            ),
            (
                format!(r#"{{"msg":"","signers":[["{pk}","{sig}"]]}}"#),
                "bad fields: invalid type: sequence, expected a signer object",
            ),
            (
                format!(r#"{{"msg":"","signers":[{ok_signer}],"signers":[{ok_signer}]}}"#),
                "bad fields: duplicate field `signers`",
            ),
            (
                format!(r#"{{"msg":"","signers":[{{"pubkey":"{pk}","pubkey":"{pk}"}}]}}"#),
                "bad fields: duplicate field `pubkey`",
            ),
            (
                // A bad signer early does not hide a JSON error later in the line.
                format!(r#"{{"msg":"","signers":[{{"pubkey":"00","sig":"{sig}"}}],}}"#),
                "bad JSON: ",
            ),
            (
                format!(r#"{{"msg":"","signers":[{ok_signer},{{"pubkey":"00","sig":"0"}}]}}"#),
                "signers[1].pubkey must be 32 bytes, got 1",
            ),
            (format!(r#"{{"signers":[{ok_signer}]}}"#), "missing \"msg\""),
            (
                r#"{"msg":""}"#.into(),
                "missing \"signers\" (or \"pubkey\" and \"sig\")",
            ),
            (
                format!(r#"{{"msg":"","pubkey":"{pk}"}}"#),
                "missing \"sig\"",
            ),
            (
                format!(r#"{{"msg":"","sig":"{sig}"}}"#),
                "missing \"pubkey\"",
            ),
            (
                format!(r#"{{"msg":"","signers":[{ok_signer}],"pubkey":"{pk}"}}"#),
                "\"signers\" mixed with \"pubkey\"/\"sig\"",
            ),
            (
                format!(r#"{{"msg":"","signers":[{ok_signer}],"sig":"{sig}"}}"#),
                "\"signers\" mixed with",
            ),
            (
                format!(r#"{{"msg":"","signers":[{{"pubkey":"{pk}"}}]}}"#),
                "bad fields: missing field `sig`",
            ),
            (
                format!(r#"{{"msg":"","signers":[{{"pubkey":"{pk}","sig":"{sig}","x":0}}]}}"#),
                "bad fields: unknown field `x`",
            ),
            (
                format!(r#"{{"msg":"","pubkey":"{}","sig":"{sig}"}}"#, &pk[2..]),
                "pubkey must be 32 bytes, got 31",
            ),
            (
                format!(r#"{{"msg":"","pubkey":"{}","sig":"{sig}"}}"#, &pk[1..]),
                "pubkey must be 32 bytes, got an odd number of hex digits (63)",
            ),
            (
                format!(r#"{{"msg":"","pubkey":"{pk}","sig":"{sig}00"}}"#),
                "sig must be 64 bytes, got 65",
            ),
            (
                format!(
                    r#"{{"msg":"","signers":[{ok_signer},{{"pubkey":"g{}","sig":"{sig}"}}]}}"#,
                    &pk[1..]
                ),
                "signers[1].pubkey: bad hex: Invalid character 'g' at position 0",
            ),
            (
                format!(r#"{{"msg":"abc","pubkey":"{pk}","sig":"{sig}"}}"#),
                "msg: bad hex: odd number of hex digits (3)",
            ),
            (
                format!(r#"{{"msg":"zz","pubkey":"{pk}","sig":"{sig}"}}"#),
                "msg: bad hex: Invalid character 'z' at position 0",
            ),
            (
                r#"{"msg":"","signers":[]}"#.into(),
                "a transaction needs at least one signer",
            ),
        ];
        for (line, want) in cases {
            let got = error_of(&line);
            assert!(
                got.starts_with(want),
                "{line}\n  got:  {got}\n  want: {want}…"
            );
        }

        let many = vec![signer(1); 256];
        let got = error_of(&encode_line(b"", &many));
        assert_eq!(got, "a transaction has 1 to 255 signers, this one has 256");
        assert!(parse_batch(encode_line(b"", &many[..255]).as_bytes())
            .unwrap()
            .error(0)
            .is_none());

        let batch = parse_batch(b"\xff\xfe\n\n{}\n").unwrap();
        assert_eq!(batch.len(), 3);
        assert!(batch.error(0).unwrap().starts_with("not UTF-8: "));
        assert_eq!(batch.error(1), Some("empty line"));
        assert!(batch.error(2).is_some());
    }

    #[test]
    fn verdict_lines() {
        let mut input = encode_line(b"a", &[signer(1), signer(2)]);
        input.push_str("\nnot json\n");
        input.push_str(&encode_line(b"b", &[signer(3)]));
        let batch = parse_batch(input.as_bytes()).unwrap();
        let verdicts = Verdicts::from_signatures(&batch, vec![true, false, true]).unwrap();
        let mut out = Vec::new();
        write_verdicts(&batch, &verdicts, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], r#"{"valid":false,"sigs":[true,false]}"#);
        assert_eq!(lines[2], r#"{"valid":true,"sigs":[true]}"#);
        let bad: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(bad["valid"], false);
        assert_eq!(bad["sigs"], serde_json::json!([]));
        assert_eq!(bad["error"].as_str().unwrap(), batch.error(1).unwrap());
        assert!(text.ends_with('\n'));

        // Reasons with quotes and control characters are escaped.
        let mut b = BatchBuilder::default();
        b.push_malformed("a \"quoted\"\n\u{1}reason\\", &[])
            .unwrap();
        let batch = b.finish();
        let verdicts = Verdicts::from_signatures(&batch, vec![]).unwrap();
        let mut out = Vec::new();
        write_verdicts(&batch, &verdicts, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"valid\":false,\"sigs\":[],\"error\":\"a \\\"quoted\\\"\\n\\u0001reason\\\\\"}\n"
        );

        // Verdicts of another batch are refused, not indexed out of bounds.
        let wrong = Verdicts {
            signature_valid: vec![true; 5],
            transaction_valid: vec![true],
        };
        let e = write_verdicts(&batch, &wrong, &mut Vec::new()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn large_output_is_chunked_in_order() {
        let line = encode_line(b"m", &[signer(1)]);
        let input = vec![line.as_str(); 5000].join("\n");
        let batch = parse_batch(input.as_bytes()).unwrap();
        let verdicts =
            Verdicts::from_signatures(&batch, (0..5000).map(|i| i % 3 != 0).collect()).unwrap();
        let mut out = Vec::new();
        write_verdicts(&batch, &verdicts, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 5000);
        for (i, l) in text.lines().enumerate() {
            let want = i % 3 != 0;
            assert_eq!(l, format!("{{\"valid\":{want},\"sigs\":[{want}]}}"));
        }
    }

    fn line_count(input: &[u8]) -> usize {
        if input.is_empty() {
            0
        } else {
            input.iter().filter(|&&b| b == b'\n').count() + usize::from(!input.ends_with(b"\n"))
        }
    }

    fn signers() -> impl Strategy<Value = Vec<Signer>> {
        prop::collection::vec(
            (any::<[u8; 32]>(), any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(pk, a, b)| {
                let mut signature = [0u8; 64];
                signature[..32].copy_from_slice(&a);
                signature[32..].copy_from_slice(&b);
                Signer {
                    pubkey: pk,
                    signature,
                }
            }),
            1..5,
        )
    }

    /// Fragments that make up JSON Lines, to reach deeper than random bytes do.
    fn json_soup() -> impl Strategy<Value = String> {
        let token = prop::sample::select(vec![
            "{",
            "}",
            "[",
            "]",
            ":",
            ",",
            "\"msg\"",
            "\"signers\"",
            "\"pubkey\"",
            "\"sig\"",
            "\"00\"",
            "\"0g\"",
            "\"\\u0030\"",
            "\"",
            "null",
            "1",
            "\n",
            "\r\n",
            " ",
            "true",
            "\"0000000000000000000000000000000000000000000000000000000000000000\"",
        ]);
        prop::collection::vec(token, 0..40).prop_map(|t| t.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn arbitrary_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..400)) {
            let batch = parse_batch(&input).unwrap();
            prop_assert_eq!(batch.len(), line_count(&input));
        }

        #[test]
        fn json_soup_never_panics(input in json_soup()) {
            let batch = parse_batch(input.as_bytes()).unwrap();
            prop_assert_eq!(batch.len(), line_count(input.as_bytes()));
            let verdicts =
                Verdicts::from_signatures(&batch, vec![true; batch.signature_count()]).unwrap();
            let mut out = Vec::new();
            write_verdicts(&batch, &verdicts, &mut out).unwrap();
            prop_assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), batch.len());
        }

        #[test]
        fn encoded_lines_round_trip(
            txs in prop::collection::vec(
                (prop::collection::vec(any::<u8>(), 0..200), signers(), any::<bool>()),
                1..6,
            ),
            crlf in any::<bool>(),
        ) {
            let sep = if crlf { "\r\n" } else { "\n" };
            let input: String = txs
                .iter()
                .map(|(msg, signers, upper)| {
                    let line = encode_line(msg, signers);
                    let line = if *upper { line.to_uppercase().replace("\"MSG\"", "\"msg\"")
                        .replace("\"SIGNERS\"", "\"signers\"").replace("\"PUBKEY\"", "\"pubkey\"")
                        .replace("\"SIG\"", "\"sig\"") } else { line };
                    line + sep
                })
                .collect();
            let batch = parse_batch(input.as_bytes()).unwrap();
            prop_assert_eq!(batch.len(), txs.len());
            for (tx, (msg, signers, _)) in txs.iter().enumerate() {
                prop_assert_eq!(batch.error(tx), None);
                prop_assert_eq!(batch.message(tx), &msg[..]);
                let range = batch.signers_of(tx);
                prop_assert_eq!(range.len(), signers.len());
                for (s, want) in range.zip(signers) {
                    prop_assert_eq!(batch.pubkey(s), &want.pubkey);
                    prop_assert_eq!(batch.signature(s), &want.signature);
                }
            }
            let verdicts =
                Verdicts::from_signatures(&batch, vec![true; batch.signature_count()]).unwrap();
            let mut out = Vec::new();
            write_verdicts(&batch, &verdicts, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            prop_assert_eq!(text.lines().count(), txs.len());
            for (line, (_, signers, _)) in text.lines().zip(&txs) {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                prop_assert_eq!(&v["valid"], &serde_json::Value::Bool(true));
                prop_assert_eq!(v["sigs"].as_array().unwrap().len(), signers.len());
            }
        }
    }
}
