//! Each kernel's launch contract, once: entry names, parameters in order with their
//! types, the slot buffers, work sizes, and the command sequences of a verification
//! and of a Merkle root.
//!
//! Every device driver (OpenCL, CUDA, and the next one) used to write this out again:
//! which buffers a slot has, which argument goes where, how many work-items each
//! launch takes, how the Merkle levels ping-pong between two node buffers. A driver
//! that got one argument out of order would compile and return wrong verdicts. Here
//! it is data: a driver allocates the [`Buffer`]s, walks a [`Plan`]'s [`Step`]s and
//! binds each launch's arguments from [`Entry::params`] through [`Launch::bind`], so
//! two drivers cannot disagree; and a test reads the `VIGIL_KERNEL` signatures of
//! `kernels/entry/*.cl` and checks every [`Entry`] against them, so the contract
//! cannot disagree with the kernels either.

use vigil_core::{Batch, Leaves, Profile};

/// Work-items per group (threads per block) for the one-item-per-signature and
/// one-item-per-leaf kernels, and for `vigil_merkle_level`: `VIGIL_GROUP` of the
/// kernel headers, which the Ed25519 kernels' per-signature buffers are laid out by.
pub const GROUP: usize = crate::GROUP as usize;

/// One of a slot's device buffers: what the kernels read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Buffer {
    /// The transaction (or leaf) bytes, back to back (u8).
    Arena,
    /// Where each transaction or leaf starts in the arena, plus the end (u32, n + 1).
    LeafStart,
    /// Where each transaction's signed message starts in the arena (u32).
    MsgStart,
    /// Where each signature's public key is in the arena (u32).
    PubkeyAt,
    /// Where each signature is in the arena (u32).
    SigAt,
    /// Which transaction each signature belongs to (u32).
    SignerTx,
    /// k = SHA-512(R || A || M) mod L per signature, eight words each (u32).
    Challenge,
    /// [1..8](-A) as cached points, then S and k in signed radix 16, per signature;
    /// R' = [S]B + [k](-A) over the first entry once it is computed (u32; the device's
    /// own, in slabs).
    Table,
    /// Whether each signature goes on past the prepare step (u32).
    State,
    /// The verdict byte per signature, 1 valid, 0 invalid (u8).
    Verdict,
    /// The first node buffer of the Merkle levels, eight words per node (u32).
    NodesA,
    /// The second node buffer (u32); levels alternate between the two.
    NodesB,
}

/// Element type of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Element {
    /// Bytes.
    U8,
    /// 32-bit words (little-endian, as the host holds them).
    U32,
}

impl Buffer {
    /// How many buffers a slot has.
    pub const COUNT: usize = 12;

    /// Every buffer of a slot, in [`Buffer::index`] order.
    pub const ALL: [Buffer; Buffer::COUNT] = [
        Buffer::Arena,
        Buffer::LeafStart,
        Buffer::MsgStart,
        Buffer::PubkeyAt,
        Buffer::SigAt,
        Buffer::SignerTx,
        Buffer::Challenge,
        Buffer::Table,
        Buffer::State,
        Buffer::Verdict,
        Buffer::NodesA,
        Buffer::NodesB,
    ];

    /// The buffer's place in [`Buffer::ALL`] (for drivers that keep them in an array).
    pub fn index(self) -> usize {
        self as usize
    }

    /// Its element type.
    pub fn element(self) -> Element {
        match self {
            Buffer::Arena | Buffer::Verdict => Element::U8,
            _ => Element::U32,
        }
    }

    /// Whether the host writes it (an upload) rather than only the device.
    pub fn host_writes(self) -> bool {
        matches!(
            self,
            Buffer::Arena
                | Buffer::LeafStart
                | Buffer::MsgStart
                | Buffer::PubkeyAt
                | Buffer::SigAt
                | Buffer::SignerTx
        )
    }

    /// The device's own working buffers of a verification (neither uploaded nor read
    /// back), in [`Buffer::ALL`] order.
    pub const ED25519_WORK: [Buffer; 3] = [Buffer::Challenge, Buffer::Table, Buffer::State];

    /// Elements a verification of `n` signatures needs in this buffer, for the
    /// buffers that depend on `n` alone ([`Buffer::ED25519_WORK`] and the verdicts;
    /// 0 for the others). The table is laid out in slabs of [`GROUP`]
    /// signatures (`vigil_ed25519_slab`), so it holds whole slabs.
    pub fn words_for(self, n: usize) -> usize {
        let slabs = n.div_ceil(GROUP) * GROUP;
        match self {
            Buffer::Challenge => 8 * n,
            Buffer::Table => crate::ED25519_TABLE_WORDS as usize * slabs,
            Buffer::State | Buffer::Verdict => n,
            _ => 0,
        }
    }

    /// Whether the host reads it back (a result).
    pub fn host_reads(self) -> bool {
        matches!(self, Buffer::Verdict | Buffer::NodesA | Buffer::NodesB)
    }
}

/// A parameter's type, as the entry's signature declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// `const VIGIL_GLOBAL u8 *`.
    ConstU8Ptr,
    /// `const VIGIL_GLOBAL u32 *`.
    ConstU32Ptr,
    /// `VIGIL_GLOBAL u8 *`.
    U8Ptr,
    /// `VIGIL_GLOBAL u32 *`.
    U32Ptr,
    /// `u32`, by value.
    U32,
}

/// Where a parameter's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A slot buffer.
    Slot(Buffer),
    /// The node buffer a Merkle level reads ([`Launch::nodes_in`]).
    NodesIn,
    /// The node buffer a Merkle level writes (the other one).
    NodesOut,
    /// The number of items the launch covers (signatures, leaves, nodes in).
    Count,
    /// The profile code ([`crate::profile_code`]).
    Profile,
}

/// One parameter of an entry kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    /// Its name in the kernel source.
    pub name: &'static str,
    /// Its declared type.
    pub ty: Ty,
    /// What the driver passes.
    pub source: Source,
}

/// How an entry's work is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One work-item per item, in groups of [`GROUP`], rounded up to whole groups.
    PerItem,
    /// One group of [`crate::MERKLE_REDUCE_GROUP`] work-items per `2 ×` that many
    /// nodes in (the kernel's local memory is sized for exactly that group).
    Reduce,
}

/// An entry kernel's contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Its name, as the program defines it.
    pub name: &'static str,
    /// The program (entry file without `.cl`) that defines it.
    pub program: &'static str,
    /// Its parameters, in order.
    pub params: &'static [Param],
    /// How its work-items are laid out.
    pub shape: Shape,
}

const fn param(name: &'static str, ty: Ty, source: Source) -> Param {
    Param { name, ty, source }
}

/// `vigil_ed25519_challenge`: k per signature.
pub const ED25519_CHALLENGE: Entry = Entry {
    name: crate::names::ED25519_CHALLENGE,
    program: "ed25519",
    params: &[
        param("arena", Ty::ConstU8Ptr, Source::Slot(Buffer::Arena)),
        param(
            "leaf_start",
            Ty::ConstU32Ptr,
            Source::Slot(Buffer::LeafStart),
        ),
        param("msg_start", Ty::ConstU32Ptr, Source::Slot(Buffer::MsgStart)),
        param("pubkey_at", Ty::ConstU32Ptr, Source::Slot(Buffer::PubkeyAt)),
        param("sig_at", Ty::ConstU32Ptr, Source::Slot(Buffer::SigAt)),
        param("signer_tx", Ty::ConstU32Ptr, Source::Slot(Buffer::SignerTx)),
        param("count", Ty::U32, Source::Count),
        param("k_out", Ty::U32Ptr, Source::Slot(Buffer::Challenge)),
    ],
    shape: Shape::PerItem,
};

/// `vigil_ed25519_prepare`: S < L, A decoded, -A's table and the digits of S and k.
pub const ED25519_PREPARE: Entry = Entry {
    name: crate::names::ED25519_PREPARE,
    program: "ed25519",
    params: &[
        param("arena", Ty::ConstU8Ptr, Source::Slot(Buffer::Arena)),
        param("pubkey_at", Ty::ConstU32Ptr, Source::Slot(Buffer::PubkeyAt)),
        param("sig_at", Ty::ConstU32Ptr, Source::Slot(Buffer::SigAt)),
        param("k_in", Ty::ConstU32Ptr, Source::Slot(Buffer::Challenge)),
        param("count", Ty::U32, Source::Count),
        param("profile", Ty::U32, Source::Profile),
        param("table", Ty::U32Ptr, Source::Slot(Buffer::Table)),
        param("state", Ty::U32Ptr, Source::Slot(Buffer::State)),
    ],
    shape: Shape::PerItem,
};

/// `vigil_ed25519_scalarmult`: R' = [S]B + [k](-A) per signature, into its table.
pub const ED25519_SCALARMULT: Entry = Entry {
    name: crate::names::ED25519_SCALARMULT,
    program: "ed25519",
    params: &[
        param("table", Ty::U32Ptr, Source::Slot(Buffer::Table)),
        param("state", Ty::ConstU32Ptr, Source::Slot(Buffer::State)),
        param("count", Ty::U32, Source::Count),
    ],
    shape: Shape::PerItem,
};

/// `vigil_ed25519_check`: the verdict per signature, from its state and R'.
pub const ED25519_CHECK: Entry = Entry {
    name: crate::names::ED25519_CHECK,
    program: "ed25519",
    params: &[
        param("arena", Ty::ConstU8Ptr, Source::Slot(Buffer::Arena)),
        param("sig_at", Ty::ConstU32Ptr, Source::Slot(Buffer::SigAt)),
        param("state", Ty::ConstU32Ptr, Source::Slot(Buffer::State)),
        param("table", Ty::ConstU32Ptr, Source::Slot(Buffer::Table)),
        param("count", Ty::U32, Source::Count),
        param("profile", Ty::U32, Source::Profile),
        param("verdict", Ty::U8Ptr, Source::Slot(Buffer::Verdict)),
    ],
    shape: Shape::PerItem,
};

/// `vigil_merkle_leaves`: LEAF() of every leaf, into [`Buffer::NodesA`].
pub const MERKLE_LEAVES: Entry = Entry {
    name: crate::names::MERKLE_LEAVES,
    program: "merkle",
    params: &[
        param("arena", Ty::ConstU8Ptr, Source::Slot(Buffer::Arena)),
        param(
            "leaf_start",
            Ty::ConstU32Ptr,
            Source::Slot(Buffer::LeafStart),
        ),
        param("count", Ty::U32, Source::Count),
        param("out", Ty::U32Ptr, Source::Slot(Buffer::NodesA)),
    ],
    shape: Shape::PerItem,
};

/// The parameters of both level kernels: nodes in, their count, nodes out.
const LEVEL_PARAMS: &[Param] = &[
    param("in", Ty::ConstU32Ptr, Source::NodesIn),
    param("count_in", Ty::U32, Source::Count),
    param("out", Ty::U32Ptr, Source::NodesOut),
];

/// `vigil_merkle_level`: one tree level.
pub const MERKLE_LEVEL: Entry = Entry {
    name: crate::names::MERKLE_LEVEL,
    program: "merkle",
    params: LEVEL_PARAMS,
    shape: Shape::PerItem,
};

/// `vigil_merkle_reduce`: several levels in one launch, in work-group memory.
pub const MERKLE_REDUCE: Entry = Entry {
    name: crate::names::MERKLE_REDUCE,
    program: "merkle",
    params: LEVEL_PARAMS,
    shape: Shape::Reduce,
};

/// The Ed25519 entries, in the order a verification launches them.
pub const ED25519: [&Entry; 4] = [
    &ED25519_CHALLENGE,
    &ED25519_PREPARE,
    &ED25519_SCALARMULT,
    &ED25519_CHECK,
];

/// Every entry kernel.
pub const ENTRIES: [&Entry; 7] = [
    &ED25519_CHALLENGE,
    &ED25519_PREPARE,
    &ED25519_SCALARMULT,
    &ED25519_CHECK,
    &MERKLE_LEAVES,
    &MERKLE_LEVEL,
    &MERKLE_REDUCE,
];

/// What a driver passes for one parameter of one launch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// This slot buffer.
    Buffer(Buffer),
    /// This `u32`.
    U32(u32),
}

/// One kernel launch of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Launch {
    /// The entry launched.
    pub entry: &'static Entry,
    /// The items it covers (its `count` argument).
    pub count: u32,
    /// The profile code, for entries that take one.
    pub profile: u32,
    /// Which node buffer a Merkle level reads (0: A, 1: B); it writes the other.
    pub nodes_in: usize,
    /// Work-items in all (a whole number of groups).
    pub global: usize,
    /// Work-items per group.
    pub group: usize,
}

impl Launch {
    /// A launch of a [`Shape::PerItem`] entry over `count` items: one work-item each,
    /// in whole groups of [`GROUP`].
    pub fn per_item(entry: &'static Entry, count: u32, profile: u32) -> Launch {
        let items = count as usize;
        Launch {
            entry,
            count,
            profile,
            nodes_in: 0,
            global: items.div_ceil(GROUP).max(1) * GROUP,
            group: GROUP,
        }
    }

    /// The value of `param` (one of this launch's entry's parameters).
    pub fn bind(&self, param: &Param) -> Binding {
        let nodes = [Buffer::NodesA, Buffer::NodesB];
        match param.source {
            Source::Slot(b) => Binding::Buffer(b),
            Source::NodesIn => Binding::Buffer(nodes[self.nodes_in & 1]),
            Source::NodesOut => Binding::Buffer(nodes[(self.nodes_in + 1) & 1]),
            Source::Count => Binding::U32(self.count),
            Source::Profile => Binding::U32(self.profile),
        }
    }

    /// Every argument, in the entry's parameter order.
    pub fn arguments(&self) -> impl Iterator<Item = Binding> + '_ {
        self.entry.params.iter().map(|p| self.bind(p))
    }

    /// Groups in all.
    pub fn groups(&self) -> usize {
        self.global / self.group
    }
}

/// Host data for an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostData<'a> {
    /// Bytes.
    U8(&'a [u8]),
    /// Words.
    U32(&'a [u32]),
}

impl HostData<'_> {
    /// Its length in elements.
    pub fn len(&self) -> usize {
        match self {
            HostData::U8(d) => d.len(),
            HostData::U32(d) => d.len(),
        }
    }

    /// Whether it is empty (no copy is needed).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One command of a plan, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    /// Copy host data into a buffer (from element 0).
    Upload(Buffer, HostData<'a>),
    /// Launch a kernel.
    Launch(Launch),
    /// Copy the first `elements` of a buffer back to the host: the result.
    Download(Buffer, usize),
}

/// Why work cannot be planned at all: a count past what the kernels' `u32` indices take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} of {count} is past what a kernel launch takes (u32)")]
pub struct TooLarge {
    /// What was counted.
    pub what: &'static str,
    /// How many.
    pub count: usize,
}

fn u32_of(what: &'static str, count: usize) -> Result<u32, TooLarge> {
    u32::try_from(count).map_err(|_| TooLarge { what, count })
}

/// A whole piece of work as commands: the buffer sizes it needs, then the steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<'a> {
    /// Elements each buffer must hold, by [`Buffer::index`] (0: unused).
    pub sizes: [usize; Buffer::COUNT],
    /// The commands, in order, on one in-order queue or stream.
    pub steps: Vec<Step<'a>>,
}

impl<'a> Plan<'a> {
    /// Bytes of the largest buffer the plan needs (for a device's allocation limit).
    pub fn largest_buffer_bytes(&self) -> usize {
        Buffer::ALL
            .iter()
            .map(|b| {
                let size = self.sizes[b.index()];
                match b.element() {
                    Element::U8 => size,
                    Element::U32 => size.saturating_mul(4),
                }
            })
            .max()
            .unwrap_or(0)
    }

    /// The verification of `batch` (at least one signature) under `profile`: its
    /// arena and offsets in, the four Ed25519 kernels ([`ED25519`]: k, prepare,
    /// R', check), the verdict bytes out.
    pub fn verify(batch: &'a Batch, profile: Profile) -> Result<Plan<'a>, TooLarge> {
        let n = batch.signature_count();
        let count = u32_of("a batch's signatures", n)?;
        let leaves = batch.leaves();
        let off = batch.offsets();
        let mut sizes = [0usize; Buffer::COUNT];
        let uploads = [
            (Buffer::Arena, HostData::U8(leaves.arena())),
            (Buffer::LeafStart, HostData::U32(leaves.starts())),
            (Buffer::MsgStart, HostData::U32(off.msg_start)),
            (Buffer::PubkeyAt, HostData::U32(off.pubkey_at)),
            (Buffer::SigAt, HostData::U32(off.sig_at)),
            (Buffer::SignerTx, HostData::U32(off.signer_tx)),
        ];
        for (b, data) in &uploads {
            sizes[b.index()] = data.len();
        }
        for b in Buffer::ED25519_WORK.into_iter().chain([Buffer::Verdict]) {
            sizes[b.index()] = b.words_for(n);
        }
        let code = crate::profile_code(profile);
        let mut steps: Vec<Step<'a>> = uploads
            .into_iter()
            .map(|(b, data)| Step::Upload(b, data))
            .collect();
        for entry in ED25519 {
            steps.push(Step::Launch(Launch::per_item(entry, count, code)));
        }
        steps.push(Step::Download(Buffer::Verdict, n));
        Ok(Plan { sizes, steps })
    }

    /// The Merkle root of `leaves` (at least one): the leaf hashes into
    /// [`Buffer::NodesA`], then levels alternating between the node buffers until one
    /// node is left, whose eight words come back. With `fused`, each launch reduces
    /// many levels in work-group memory ([`MERKLE_REDUCE`]); without, one level per
    /// launch ([`MERKLE_LEVEL`], for a device whose work-groups are too small).
    pub fn merkle(leaves: &'a Leaves, fused: bool) -> Result<Plan<'a>, TooLarge> {
        let n = leaves.len();
        let mut sizes = [0usize; Buffer::COUNT];
        sizes[Buffer::Arena.index()] = leaves.arena().len();
        sizes[Buffer::LeafStart.index()] = leaves.starts().len();
        sizes[Buffer::NodesA.index()] = 8 * n;
        sizes[Buffer::NodesB.index()] = 8 * n.div_ceil(2);
        let mut steps = vec![
            Step::Upload(Buffer::Arena, HostData::U8(leaves.arena())),
            Step::Upload(Buffer::LeafStart, HostData::U32(leaves.starts())),
            Step::Launch(Launch::per_item(
                &MERKLE_LEAVES,
                u32_of("a tree's leaves", n)?,
                0,
            )),
        ];
        let mut count = n;
        let mut nodes_in = 0;
        while count > 1 {
            let (entry, out, global, group) = if fused {
                let w = crate::MERKLE_REDUCE_GROUP as usize;
                let out = count.div_ceil(2 * w);
                (&MERKLE_REDUCE, out, out * w, w)
            } else {
                let out = count.div_ceil(2);
                (&MERKLE_LEVEL, out, out.div_ceil(GROUP) * GROUP, GROUP)
            };
            steps.push(Step::Launch(Launch {
                entry,
                count: u32_of("a level's nodes", count)?,
                profile: 0,
                nodes_in,
                global,
                group,
            }));
            nodes_in = 1 - nodes_in;
            count = out;
        }
        let root_in = [Buffer::NodesA, Buffer::NodesB][nodes_in];
        steps.push(Step::Download(root_in, 8));
        Ok(Plan { sizes, steps })
    }

    /// The launches of the plan, in order.
    pub fn launches(&self) -> impl Iterator<Item = &Launch> {
        self.steps.iter().filter_map(|s| match s {
            Step::Launch(l) => Some(l),
            _ => None,
        })
    }

    /// The buffer the result is read back from, and how many elements.
    pub fn result(&self) -> Option<(Buffer, usize)> {
        self.steps.iter().rev().find_map(|s| match s {
            Step::Download(b, n) => Some((*b, *n)),
            _ => None,
        })
    }
}
