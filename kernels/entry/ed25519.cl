/*
 * ed25519.cl: the Ed25519 entry kernels (design in kernels/ED25519.md), launched in this
 * order for a batch: challenge, prepare, scalarmult, check.
 *
 * The batch is flat: `arena` holds every transaction's bytes back to back. Transaction
 * t's message is arena[msg_start[t] .. leaf_start[t + 1]); signer s has its public key
 * at arena[pubkey_at[s] .. + 32], its signature R || S at arena[sig_at[s] .. + 64], and
 * belongs to transaction signer_tx[s]. Offsets are byte offsets, not necessarily
 * aligned. One work-item per signer; launches may be rounded up, so s < count is
 * checked. The per-signer table the later kernels share is laid out in slabs of VIGIL_GROUP signers (vigil_ed25519_slab in ed25519.h).
 *
 * Under CUDA each kernel has a register cap (VIGIL_KERNEL_MAXREG): the smallest at or
 * above 128 at which ptxas spills nothing, for sm_80 and sm_90 alike (measured; the
 * budgets are in kernels/cuda-budget.tsv). At 128 registers an SM holds 8 blocks of
 * VIGIL_GROUP threads (16 warps); at 136 or 144, 7 (14 warps).
 */
#include "vigil/vendor.h"
#include "vigil/ed25519.h"

/* k_out[8s .. 8s + 8) = SHA-512(R || A || M) mod L, little-endian words. */
VIGIL_KERNEL_MAXREG(128) vigil_ed25519_challenge(const VIGIL_GLOBAL u8 *arena,
                        const VIGIL_GLOBAL u32 *leaf_start,
                        const VIGIL_GLOBAL u32 *msg_start,
                        const VIGIL_GLOBAL u32 *pubkey_at,
                        const VIGIL_GLOBAL u32 *sig_at,
                        const VIGIL_GLOBAL u32 *signer_tx, u32 count,
                        VIGIL_GLOBAL u32 *k_out) {
  u32 s = VIGIL_GLOBAL_ID();
  if (s >= count) return;
  u32 tx = signer_tx[s];
  u32 m_at = msg_start[tx];
  u32 m_end = leaf_start[tx + 1u];
  u32 k[8];
  vigil_ed25519_compute_challenge(k, arena, sig_at[s], pubkey_at[s], m_at, m_end - m_at);
  for (int i = 0; i < 8; i++) k_out[8u * s + (u32)i] = k[i];
}

/* state[s] = 0 if signer s is already invalid under `profile` (S >= L, A does not
 * decompress, small-order A under strict), else 1, with [1..8](-A) and the digits of S
 * and k (k_in is what vigil_ed25519_challenge wrote) in its table. */
VIGIL_KERNEL_MAXREG(136) vigil_ed25519_prepare(const VIGIL_GLOBAL u8 *arena,
                                   const VIGIL_GLOBAL u32 *pubkey_at,
                                   const VIGIL_GLOBAL u32 *sig_at,
                                   const VIGIL_GLOBAL u32 *k_in, u32 count, u32 profile,
                                   VIGIL_GLOBAL u32 *table, VIGIL_GLOBAL u32 *state) {
  u32 s = VIGIL_GLOBAL_ID();
  if (s >= count) return;
  u32 k[8];
  for (int i = 0; i < 8; i++) k[i] = k_in[8u * s + (u32)i];
  state[s] = vigil_ed25519_prepare_one(arena, pubkey_at[s], sig_at[s], k, profile,
                                       table + vigil_ed25519_slab(VIGIL_ED25519_TABLE_WORDS, s));
}

/* R' = [S]B + [k](-A) into words 0 .. 40 of the table, for every signer whose state is
 * 1, from the table vigil_ed25519_prepare wrote. */
VIGIL_KERNEL_MAXREG(144) vigil_ed25519_scalarmult(VIGIL_GLOBAL u32 *table,
                                      const VIGIL_GLOBAL u32 *state, u32 count) {
  VIGIL_LOCAL u32 base[VIGIL_ED25519_BASE_WORDS];
  vigil_ed25519_load_base(base);
  u32 s = VIGIL_GLOBAL_ID();
  if (s >= count || state[s] == 0u) return;
  vigil_ed25519_double_scalarmult(table + vigil_ed25519_slab(VIGIL_ED25519_TABLE_WORDS, s),
                                  base);
}

/* verdict[s] = 1 if signer s's signature is valid under `profile` (0 strict, 1 rfc8032,
 * 2 zip215), else 0, from its state and R' (in its table). */
VIGIL_KERNEL_MAXREG(128) vigil_ed25519_check(const VIGIL_GLOBAL u8 *arena,
                                 const VIGIL_GLOBAL u32 *sig_at,
                                 const VIGIL_GLOBAL u32 *state,
                                 const VIGIL_GLOBAL u32 *table, u32 count, u32 profile,
                                 VIGIL_GLOBAL u8 *verdict) {
  u32 s = VIGIL_GLOBAL_ID();
  if (s >= count) return;
  u32 ok = 0;
  if (state[s] != 0u)
    ok = vigil_ed25519_check_one(arena, sig_at[s],
                                 table + vigil_ed25519_slab(VIGIL_ED25519_TABLE_WORDS, s),
                                 profile);
  verdict[s] = (u8)ok;
}
