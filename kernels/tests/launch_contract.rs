//! The launch contract (`vigil_kernels::launch`) against the kernels and the oracle.
//!
//! * Every `VIGIL_KERNEL` of every program has exactly one contract entry, with the
//!   same parameters in the same order, names and types as its signature in
//!   `kernels/entry/*.cl`, and every entry names a kernel of its program.
//! * The plans are right: a host interpreter runs a plan's steps with the kernels'
//!   semantics, taking each launch's arguments by position as the device does, and the
//!   verdicts and roots it downloads are the oracle's, for many sizes, fused and not.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

use std::collections::HashMap;

use vigil_core::synth::{self, Format, SynthSpec};
use vigil_core::{merkle, reference_verify, Leaves, Profile, Verdicts};
use vigil_kernels::launch::{self, Binding, Buffer, HostData, Launch, Plan, Step, Ty};

/// `(name, [(type, param name)])` of every `VIGIL_KERNEL` in `source`.
fn signatures(source: &str) -> Vec<(String, Vec<(Ty, String)>)> {
    let mut out = Vec::new();
    // An entry starts a line with `VIGIL_KERNEL name(` or `VIGIL_KERNEL_MAXREG(n) name(`
    // (as the build script finds them).
    let starts = source.match_indices('\n').map(|(i, _)| i + 1);
    for at in std::iter::once(0).chain(starts) {
        let line = &source[at..];
        let after = if let Some(rest) = line.strip_prefix("VIGIL_KERNEL ") {
            rest
        } else if let Some(rest) = line.strip_prefix("VIGIL_KERNEL_MAXREG(") {
            &rest[rest.find(')').unwrap() + 1..]
        } else {
            continue;
        };
        let open = after.find('(').unwrap();
        let close = after.find(')').unwrap();
        let name = after[..open].trim().to_owned();
        let params = after[open + 1..close]
            .split(',')
            .map(|p| {
                let words: Vec<&str> = p
                    .split(|c: char| c.is_whitespace() || c == '*')
                    .filter(|w| !w.is_empty())
                    .collect();
                let pointer = p.contains('*');
                let constant = words.contains(&"const");
                let global = words.contains(&"VIGIL_GLOBAL");
                assert_eq!(pointer, global, "{name}: {p}");
                let base = words[words.len() - 2];
                let ty = match (pointer, constant, base) {
                    (true, true, "u8") => Ty::ConstU8Ptr,
                    (true, true, "u32") => Ty::ConstU32Ptr,
                    (true, false, "u8") => Ty::U8Ptr,
                    (true, false, "u32") => Ty::U32Ptr,
                    (false, false, "u32") => Ty::U32,
                    _ => panic!("{name}: parameter {p:?} has a type the contract lacks"),
                };
                (ty, words[words.len() - 1].to_owned())
            })
            .collect();
        out.push((name, params));
    }
    out
}

#[test]
fn every_entry_matches_its_kernel_signature() {
    let mut seen = 0;
    for program in vigil_kernels::ALL {
        let sigs = signatures(program.source);
        assert_eq!(
            sigs.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            program.kernels,
            "{}",
            program.name
        );
        for (name, params) in sigs {
            let entries: Vec<_> = launch::ENTRIES.iter().filter(|e| e.name == name).collect();
            assert_eq!(entries.len(), 1, "{name}: one contract entry");
            let entry = entries[0];
            assert_eq!(entry.program, program.name, "{name}");
            let contract: Vec<(Ty, String)> = entry
                .params
                .iter()
                .map(|p| (p.ty, p.name.to_owned()))
                .collect();
            assert_eq!(contract, params, "{name}");
            seen += 1;
        }
    }
    assert_eq!(seen, launch::ENTRIES.len(), "an entry names no kernel");
}

/// Words per signature of the device's own Ed25519 buffers.
const TABLE: usize = vigil_kernels::ED25519_TABLE_WORDS as usize;

/// Index of word `w` of signature `s` in a buffer of `words` words per signature, laid
/// out in slabs of `launch::GROUP` signatures (`vigil_ed25519_slab` in ed25519.h).
fn slab(words: usize, s: usize, w: usize) -> usize {
    let g = launch::GROUP;
    (s / g) * words * g + w * g + s % g
}

/// A slot's buffers on the host.
#[derive(Default)]
struct HostSlot {
    bytes: HashMap<Buffer, Vec<u8>>,
    words: HashMap<Buffer, Vec<u32>>,
}

impl HostSlot {
    fn new(plan: &Plan<'_>) -> HostSlot {
        let mut slot = HostSlot::default();
        for b in Buffer::ALL {
            let n = plan.sizes[b.index()];
            match b.element() {
                launch::Element::U8 => slot.bytes.insert(b, vec![0xee; n]),
                launch::Element::U32 => {
                    slot.words.insert(b, vec![0xeeee_eeee; n]);
                    None
                }
            };
        }
        slot
    }

    fn buffer(args: &[Binding], i: usize) -> Buffer {
        match args[i] {
            Binding::Buffer(b) => b,
            Binding::U32(v) => panic!("argument {i} is {v}, not a buffer"),
        }
    }

    fn value(args: &[Binding], i: usize) -> usize {
        match args[i] {
            Binding::U32(v) => v as usize,
            Binding::Buffer(b) => panic!("argument {i} is {b:?}, not a value"),
        }
    }

    fn w(&self, args: &[Binding], i: usize) -> &[u32] {
        &self.words[&Self::buffer(args, i)]
    }

    fn b(&self, args: &[Binding], i: usize) -> &[u8] {
        &self.bytes[&Self::buffer(args, i)]
    }

    fn node(words: &[u32], i: usize) -> [u8; 32] {
        let mut n = [0u8; 32];
        for (k, c) in n.chunks_exact_mut(4).enumerate() {
            c.copy_from_slice(&words[8 * i + k].to_le_bytes());
        }
        n
    }

    fn put(words: &mut [u32], i: usize, node: &[u8; 32]) {
        for (k, c) in node.chunks_exact(4).enumerate() {
            words[8 * i + k] = u32::from_le_bytes(c.try_into().unwrap());
        }
    }

    /// Runs one launch with the kernel's semantics, arguments taken by position.
    fn run(&mut self, l: &Launch, profile: Profile) {
        let a: Vec<Binding> = l.arguments().collect();
        assert_eq!(l.global % l.group, 0, "{}: whole groups", l.entry.name);
        match l.entry.name {
            "vigil_ed25519_challenge" => {
                // (arena, leaf_start, msg_start, pubkey_at, sig_at, signer_tx, count, k_out)
                let count = Self::value(&a, 6);
                assert!(l.global >= count);
                let mut k = vec![0u32; 8 * count];
                for (s, ks) in k.chunks_exact_mut(8).enumerate() {
                    // The interpreter records which signature's data k belongs to; the
                    // verify step recomputes the verdict from those offsets.
                    let tx = self.w(&a, 5)[s] as usize;
                    ks[0] = self.w(&a, 2)[tx];
                    ks[1] = self.w(&a, 1)[tx + 1];
                    ks[2] = self.w(&a, 3)[s];
                    ks[3] = self.w(&a, 4)[s];
                }
                let out = Self::buffer(&a, 7);
                self.words.get_mut(&out).unwrap()[..8 * count].copy_from_slice(&k);
                assert!(!self.b(&a, 0).is_empty());
            }
            "vigil_ed25519_prepare" => {
                // (arena, pubkey_at, sig_at, k_in, count, profile, table, state)
                let count = Self::value(&a, 4);
                assert_eq!(
                    Self::value(&a, 5) as u32,
                    vigil_kernels::profile_code(profile)
                );
                let k = self.w(&a, 3).to_vec();
                let (pk, sig) = (self.w(&a, 1).to_vec(), self.w(&a, 2).to_vec());
                assert!(!self.b(&a, 0).is_empty());
                // Each signature's table words carry what the later kernels need: its k
                // words (checked to be its own) and its signature's offset; a mark goes
                // into the state.
                let (table, state) = (Self::buffer(&a, 6), Self::buffer(&a, 7));
                for s in 0..count {
                    assert_eq!((k[8 * s + 2], k[8 * s + 3]), (pk[s], sig[s]), "k of {s}");
                    let t = self.words.get_mut(&table).unwrap();
                    for (w, v) in k[8 * s..8 * s + 8].iter().enumerate() {
                        t[slab(TABLE, s, w)] = *v;
                    }
                    t[slab(TABLE, s, TABLE - 1)] = sig[s];
                    self.words.get_mut(&state).unwrap()[s] = 1;
                }
            }
            "vigil_ed25519_scalarmult" => {
                // (table, state, count): R' over the table's first words; here the k
                // words move to words 4.. (so the check step sees this step ran).
                let count = Self::value(&a, 2);
                let state = self.w(&a, 1).to_vec();
                let table = Self::buffer(&a, 0);
                for s in 0..count {
                    assert_eq!(state[s], 1, "state of {s}");
                    let t = self.words.get_mut(&table).unwrap();
                    for w in 0..4 {
                        t[slab(TABLE, s, 4 + w)] = t[slab(TABLE, s, w)];
                        t[slab(TABLE, s, w)] = 0;
                    }
                }
            }
            "vigil_ed25519_check" => {
                // (arena, sig_at, state, table, count, profile, verdict)
                let count = Self::value(&a, 4);
                assert_eq!(
                    Self::value(&a, 5) as u32,
                    vigil_kernels::profile_code(profile)
                );
                let arena = self.b(&a, 0).to_vec();
                let (sig_at, state, table) = (
                    self.w(&a, 1).to_vec(),
                    self.w(&a, 2).to_vec(),
                    self.w(&a, 3).to_vec(),
                );
                let mut v = vec![0u8; count];
                for (s, verdict) in v.iter_mut().enumerate() {
                    assert_eq!(state[s], 1, "state of {s}");
                    let t = |w| table[slab(TABLE, s, w)] as usize;
                    let (m_at, m_end, pk_at) = (t(4), t(5), t(6));
                    assert_eq!(
                        (t(7), t(TABLE - 1)),
                        (sig_at[s] as usize, sig_at[s] as usize)
                    );
                    let sig_at = sig_at[s] as usize;
                    let pk: [u8; 32] = arena[pk_at..pk_at + 32].try_into().unwrap();
                    let sig: [u8; 64] = arena[sig_at..sig_at + 64].try_into().unwrap();
                    *verdict = u8::from(reference_verify(profile, &pk, &sig, &arena[m_at..m_end]));
                }
                let out = Self::buffer(&a, 6);
                self.bytes.get_mut(&out).unwrap()[..count].copy_from_slice(&v);
            }
            "vigil_merkle_leaves" => {
                // (arena, leaf_start, count, out)
                let count = Self::value(&a, 2);
                let arena = self.b(&a, 0).to_vec();
                let starts = self.w(&a, 1).to_vec();
                let out = Self::buffer(&a, 3);
                let words = self.words.get_mut(&out).unwrap();
                for i in 0..count {
                    let leaf = &arena[starts[i] as usize..starts[i + 1] as usize];
                    Self::put(words, i, &merkle::leaf_hash(leaf));
                }
            }
            "vigil_merkle_level" | "vigil_merkle_reduce" => {
                // (in, count_in, out)
                let count = Self::value(&a, 1);
                let input = self.w(&a, 0).to_vec();
                let (src, dst) = (Self::buffer(&a, 0), Self::buffer(&a, 2));
                assert_ne!(src, dst, "a level reads and writes one buffer");
                // A level pairs neighbours and carries an odd last node; the fused
                // kernel does that within each group's 2w nodes until one is left.
                let span = if l.entry.name == "vigil_merkle_level" {
                    2
                } else {
                    2 * l.group
                };
                let groups = count.div_ceil(span);
                if l.entry.name == "vigil_merkle_reduce" {
                    assert_eq!(l.groups(), groups);
                } else {
                    assert!(l.global >= groups);
                }
                let dst_words = self.words.get_mut(&dst).unwrap();
                for g in 0..groups {
                    let mut level: Vec<[u8; 32]> = (g * span..count.min((g + 1) * span))
                        .map(|i| Self::node(&input, i))
                        .collect();
                    while level.len() > 1 {
                        level = level
                            .chunks(2)
                            .map(|p| match p {
                                [l, r] => merkle::node_hash(l, r),
                                [one] => *one,
                                _ => unreachable!(),
                            })
                            .collect();
                    }
                    Self::put(dst_words, g, &level[0]);
                }
            }
            other => panic!("no interpreter for {other}"),
        }
    }

    /// Runs every step; returns the downloaded result as bytes.
    fn execute(plan: &Plan<'_>, profile: Profile) -> Vec<u8> {
        let mut slot = HostSlot::new(plan);
        let mut result = None;
        for step in &plan.steps {
            match step {
                Step::Upload(b, HostData::U8(d)) => {
                    assert!(b.host_writes());
                    slot.bytes.get_mut(b).unwrap()[..d.len()].copy_from_slice(d);
                }
                Step::Upload(b, HostData::U32(d)) => {
                    assert!(b.host_writes());
                    slot.words.get_mut(b).unwrap()[..d.len()].copy_from_slice(d);
                }
                Step::Launch(l) => slot.run(l, profile),
                Step::Download(b, n) => {
                    assert!(b.host_reads());
                    result = Some(match b.element() {
                        launch::Element::U8 => slot.bytes[b][..*n].to_vec(),
                        launch::Element::U32 => slot.words[b][..*n]
                            .iter()
                            .flat_map(|w| w.to_le_bytes())
                            .collect(),
                    });
                }
            }
        }
        result.expect("a plan ends with its result")
    }
}

#[test]
fn a_verify_plan_run_as_the_device_runs_it_gives_the_oracle_s_verdicts() {
    for (count, signers, seed) in [(1, 1, 1), (50, 2, 2), (130, 3, 3)] {
        for profile in Profile::ALL {
            let spec = SynthSpec {
                count,
                profile,
                invalid_fraction: 0.4,
                msg_len: 0..=300,
                signers,
                format: Format::Jsonl,
                seed,
            };
            let batch = synth::batch(&spec).unwrap();
            let plan = Plan::verify(&batch, profile).unwrap();
            let got = HostSlot::execute(&plan, profile);
            let want = Verdicts::reference(&batch, profile);
            let got: Vec<bool> = got.iter().map(|&v| v == 1).collect();
            assert_eq!(got, want.signature_valid, "{count} x {signers}, {profile}");
            assert!(plan.largest_buffer_bytes() >= 32 * batch.signature_count());
        }
    }
}

#[test]
fn a_merkle_plan_run_as_the_device_runs_it_gives_the_oracle_s_root() {
    let sizes = [
        1usize, 2, 3, 4, 5, 7, 8, 9, 63, 64, 65, 255, 256, 257, 1000, 1025,
    ];
    for n in sizes {
        let leaves: Leaves = (0..n).map(|i| vec![(i % 251) as u8; i % 70]).collect();
        let want = merkle::root(&leaves);
        for fused in [false, true] {
            let plan = Plan::merkle(&leaves, fused).unwrap();
            let got = HostSlot::execute(&plan, Profile::Strict);
            assert_eq!(got, want, "n = {n}, fused = {fused}");
            let levels = plan.launches().count() - 1;
            if !fused {
                // One launch per level: ceil(log2 n).
                assert_eq!(levels, n.next_power_of_two().trailing_zeros() as usize);
            }
        }
    }
}
