//! Solana wire parsing: `parse` on the raw bytes, `parse_base64_lines` on the bytes as
//! text and on their base64 encoding (so that structured inputs reach `push_solana`
//! through the text path too), with the layout's invariants checked.

#![no_main]

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use vigil_core::input::solana;
use vigil_core::BatchBuilder;

/// Lines under the input rules: a final newline does not start another line.
fn line_count(data: &[u8]) -> usize {
    match data.last() {
        None => 0,
        Some(&last) => data.iter().filter(|&&b| b == b'\n').count() + usize::from(last != b'\n'),
    }
}

fuzz_target!(|data: &[u8]| {
    let parsed = solana::parse(data);
    if let Ok(layout) = parsed {
        let n = layout.signer_count;
        assert!((1..=255).contains(&n));
        assert_eq!(layout.message_at, layout.signatures_at + 64 * n);
        assert!(layout.pubkeys_at > layout.message_at);
        assert!(layout.pubkeys_at + 32 * n <= data.len());
    }

    // The batch builder agrees with the parser and records in-bounds offsets.
    let mut builder = BatchBuilder::default();
    builder.push_solana(data).unwrap();
    let batch = builder.finish();
    assert_eq!(batch.len(), 1);
    assert_eq!(batch.leaves().get(0), data);
    assert_eq!(batch.error(0).is_none(), parsed.is_ok());
    if let Ok(layout) = parsed {
        assert_eq!(batch.signers_of(0).len(), layout.signer_count);
        assert_eq!(batch.message(0), &data[layout.message_at..]);
        for s in batch.signers_of(0) {
            let _ = batch.signer_item(s);
        }
    }

    let batch = solana::parse_base64_lines(data).unwrap();
    assert_eq!(batch.len(), line_count(data));

    // As one base64 line (with its newline: the encoding of nothing is an empty line).
    let mut line = base64::engine::general_purpose::STANDARD.encode(data);
    line.push('\n');
    let batch = solana::parse_base64_lines(line.as_bytes()).unwrap();
    assert_eq!(batch.len(), 1);
    if data.is_empty() {
        assert_eq!(batch.error(0), Some("empty line"));
    } else {
        assert_eq!(batch.error(0).is_none(), parsed.is_ok());
        assert_eq!(batch.leaves().get(0), data);
    }
});
