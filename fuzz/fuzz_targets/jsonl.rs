//! JSON Lines: `parse_batch` on the bytes, then `write_verdicts` with every signature
//! valid. Checks one transaction and one output line per input line, that every output
//! line is JSON saying what the batch says, and that each parsed transaction survives
//! `encode_line` and a second parse unchanged.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_core::input::jsonl;
use vigil_core::{Signer, Verdicts};

fn line_count(data: &[u8]) -> usize {
    match data.last() {
        None => 0,
        Some(&last) => data.iter().filter(|&&b| b == b'\n').count() + usize::from(last != b'\n'),
    }
}

fuzz_target!(|data: &[u8]| {
    let batch = jsonl::parse_batch(data).unwrap();
    assert_eq!(batch.len(), line_count(data));

    let verdicts = Verdicts::from_signatures(&batch, vec![true; batch.signature_count()]).unwrap();
    let mut out = Vec::new();
    jsonl::write_verdicts(&batch, &verdicts, &mut out).unwrap();
    let text = std::str::from_utf8(&out).unwrap();
    assert_eq!(text.lines().count(), batch.len());
    for (tx, line) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let parsed = batch.error(tx).is_none();
        assert_eq!(v["valid"].as_bool(), Some(parsed));
        assert_eq!(
            v["sigs"].as_array().map(Vec::len),
            Some(batch.signers_of(tx).len())
        );
        assert_eq!(v["error"].as_str(), batch.error(tx));
    }

    for tx in 0..batch.len() {
        if batch.error(tx).is_some() {
            continue;
        }
        let signers: Vec<Signer> = batch
            .signers_of(tx)
            .map(|s| Signer {
                pubkey: *batch.pubkey(s),
                signature: *batch.signature(s),
            })
            .collect();
        let line = jsonl::encode_line(batch.message(tx), &signers);
        let again = jsonl::parse_batch(line.as_bytes()).unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again.error(0), None);
        assert_eq!(again.message(0), batch.message(tx));
        assert_eq!(again.leaves().get(0), batch.leaves().get(tx));
    }
});
