/*
 * merkle.cl: the vigil-merkle-v1 tree on the device (docs/MERKLE.md).
 *
 * A hash is 8 u32 words (word i = bytes 4i..4i+4 of the 32-byte output, little-endian),
 * and a list of nodes is those words back to back: node j at words 8j..8j+8. The host
 * runs vigil_merkle_leaves once, then vigil_merkle_reduce (or vigil_merkle_level) until
 * one node is left; the empty tree never reaches the device. kernels/MERKLE_KERNELS.md
 * explains the costs and why the fused reduction gives the level-by-level root.
 */
#include "vigil/vendor.h"
#include "vigil/blake3.h"

/* Word k of node slot i in a region of the reduction's local memory that starts at off
 * and keeps its slots' words stride apart (see vigil_merkle_reduce). */
#define VIGIL_MERKLE_SLOT(off, stride, i, k) ((off) + (k) * (stride) + (i))

/*
 * out[8i .. 8i+8] = LEAF(arena[leaf_start[i] .. leaf_start[i+1])) for i < count.
 * leaf_start holds count + 1 offsets; a leaf may start at any byte and have any length
 * (an end before its start is read as an empty leaf).
 */
VIGIL_KERNEL vigil_merkle_leaves(const VIGIL_GLOBAL u8 *arena,
                                 const VIGIL_GLOBAL u32 *leaf_start, u32 count,
                                 VIGIL_GLOBAL u32 *out)
{
  const u32 i = VIGIL_GLOBAL_ID();
  if (i >= count) return;
  const u32 start = leaf_start[i];
  const u32 end = leaf_start[i + 1u];
  const u32 len = end >= start ? end - start : 0u;
  u32 h[8];
  vigil_merkle_leaf(arena + start, len, h);
  VIGIL_GLOBAL u32 *o = out + (u64)i * 8u;
  o[0] = h[0];
  o[1] = h[1];
  o[2] = h[2];
  o[3] = h[3];
  o[4] = h[4];
  o[5] = h[5];
  o[6] = h[6];
  o[7] = h[7];
}

/*
 * One level: out node j = NODE(in[2j], in[2j+1]) for 2j + 1 < count_in, and the odd last
 * node in[count_in - 1] copied up, for j < ceil(count_in / 2).
 */
VIGIL_KERNEL vigil_merkle_level(const VIGIL_GLOBAL u32 *in, u32 count_in,
                                VIGIL_GLOBAL u32 *out)
{
  const u32 j = VIGIL_GLOBAL_ID();
  const u32 count_out = (count_in >> 1) + (count_in & 1u);
  if (j >= count_out) return;
  /* Node 2j's words, then node 2j+1's: the 64-byte block l || r as it lies in memory. */
  const VIGIL_GLOBAL u32 *p = in + (u64)j * 16u;
  VIGIL_GLOBAL u32 *o = out + (u64)j * 8u;
  u32 h[8];
  if (2u * j + 1u < count_in) {
    u32 m[16];
    m[0] = p[0];
    m[1] = p[1];
    m[2] = p[2];
    m[3] = p[3];
    m[4] = p[4];
    m[5] = p[5];
    m[6] = p[6];
    m[7] = p[7];
    m[8] = p[8];
    m[9] = p[9];
    m[10] = p[10];
    m[11] = p[11];
    m[12] = p[12];
    m[13] = p[13];
    m[14] = p[14];
    m[15] = p[15];
    VIGIL_MERKLE_NODE(m, h);
  } else {
    h[0] = p[0];
    h[1] = p[1];
    h[2] = p[2];
    h[3] = p[3];
    h[4] = p[4];
    h[5] = p[5];
    h[6] = p[6];
    h[7] = p[7];
  }
  o[0] = h[0];
  o[1] = h[1];
  o[2] = h[2];
  o[3] = h[3];
  o[4] = h[4];
  o[5] = h[5];
  o[6] = h[6];
  o[7] = h[7];
}

/*
 * Several levels at once: work-group g (local size W, a power of two, at most
 * VIGIL_MERKLE_REDUCE_GROUP) reduces nodes in[2Wg .. min(2W(g+1), count_in)) level by
 * level, pairing adjacent nodes and carrying an odd last one exactly as
 * vigil_merkle_level does, to one node, written to out[g]. One launch of
 * ceil(count_in / 2W) groups turns count_in nodes into that many.
 *
 * The first level reads its pairs straight from global memory (each work-item the 64
 * bytes of its pair); every level writes its nodes to a region of local memory, and the
 * next level reads them from there and writes the other region, so one barrier per
 * level separates a level's writes from the next level's reads, and no level writes
 * what the same level reads. Region 0 holds up to W nodes, region 1 up to W/2: levels
 * write 0, 1, 0, 1, ..., and level j has at most 2W / 2^j nodes, at most W for j = 1,
 * W/2 for j = 2, W/4 for j = 3. Words are stored transposed (word k of all the slots of
 * a region together), so work-item t writing slot t touches consecutive words and
 * work-items reading slots 2t, 2t+1 stride by two words.
 *
 * The group's node count n, and so every loop bound, is the same for all its
 * work-items: all of them reach every barrier, those with nothing to do at some level
 * waiting at it. A local size the layout does not fit makes n = 0: nothing is written.
 */
VIGIL_KERNEL vigil_merkle_reduce(const VIGIL_GLOBAL u32 *in, u32 count_in,
                                 VIGIL_GLOBAL u32 *out)
{
  VIGIL_LOCAL u32 tree[8 * (VIGIL_MERKLE_REDUCE_GROUP + VIGIL_MERKLE_REDUCE_GROUP / 2)];
  const u32 cap = (u32)VIGIL_MERKLE_REDUCE_GROUP;
  const u32 t = VIGIL_LOCAL_ID();
  const u32 w = VIGIL_LOCAL_SIZE();
  const u32 g = VIGIL_GLOBAL_ID() / w;
  const u64 base = (u64)g * 2u * w;
  const u32 fits = w <= cap && (w & (w - 1u)) == 0u ? 1u : 0u;
  const u32 n = fits != 0u && base < (u64)count_in
                    ? ((u64)count_in - base < 2u * w ? (u32)((u64)count_in - base) : 2u * w)
                    : 0u;
  const VIGIL_GLOBAL u32 *group_in = in + base * 8u;
  u32 count = n;
  u32 first = 1u;                     /* the first level reads global memory */
  u32 src_off = 0u, src_stride = cap; /* the region the last level wrote */
  u32 h[8];
  u32 m[16];

  while (count > 1u) {
    const u32 dst_off = first == 0u && src_off == 0u ? 8u * cap : 0u;
    const u32 dst_stride = dst_off == 0u ? cap : cap / 2u;
    const u32 pairs = count >> 1;
    const u32 carry = t == pairs && (count & 1u) != 0u ? 1u : 0u;
    if (t < pairs) {
      if (first != 0u) {
        const VIGIL_GLOBAL u32 *p = group_in + t * 16u;
        m[0] = p[0];
        m[1] = p[1];
        m[2] = p[2];
        m[3] = p[3];
        m[4] = p[4];
        m[5] = p[5];
        m[6] = p[6];
        m[7] = p[7];
        m[8] = p[8];
        m[9] = p[9];
        m[10] = p[10];
        m[11] = p[11];
        m[12] = p[12];
        m[13] = p[13];
        m[14] = p[14];
        m[15] = p[15];
      } else {
        const u32 a = 2u * t, b = 2u * t + 1u;
        m[0] = tree[VIGIL_MERKLE_SLOT(src_off, src_stride, a, 0u)];
        m[1] = tree[VIGIL_MERKLE_SLOT(src_off, src_stride, a, 1u)];
        m[2] = tree[VIGIL_MERKLE_SLOT(src_off, src_stride, a, 2u)];
        m[3] = tree[VIGIL_MERKLE_SLOT(src_off, src_stride, a, 3u)];
        m[4] = tree[VIGIL_MERKLE_SLOT(src_off, src_stride, a, 4u)];
        m[5] = tree[VIGIL_MERKLE_SLOT(src_off, src_stride, a, 5u)];
        m[6] = tree[VIGIL_MERKLE_SLOT(src_off, src_stride, a, 6u)];
        m[7] = tree[VIGIL_MERKLE_SLOT(src_off, src_stride, a, 7u)];
        m[8] = tree[VIGIL_MERKLE_SLOT(src_off, src_stride, b, 0u)];
        m[9] = tree[VIGIL_MERKLE_SLOT(src_off, src_stride, b, 1u)];
        m[10] = tree[VIGIL_MERKLE_SLOT(src_off, src_stride, b, 2u)];
        m[11] = tree[VIGIL_MERKLE_SLOT(src_off, src_stride, b, 3u)];
        m[12] = tree[VIGIL_MERKLE_SLOT(src_off, src_stride, b, 4u)];
        m[13] = tree[VIGIL_MERKLE_SLOT(src_off, src_stride, b, 5u)];
        m[14] = tree[VIGIL_MERKLE_SLOT(src_off, src_stride, b, 6u)];
        m[15] = tree[VIGIL_MERKLE_SLOT(src_off, src_stride, b, 7u)];
      }
      VIGIL_MERKLE_NODE(m, h);
    } else if (carry != 0u) {
      /* The odd last node, carried up unchanged. */
      const u32 a = count - 1u;
      if (first != 0u) {
        const VIGIL_GLOBAL u32 *p = group_in + a * 8u;
        h[0] = p[0];
        h[1] = p[1];
        h[2] = p[2];
        h[3] = p[3];
        h[4] = p[4];
        h[5] = p[5];
        h[6] = p[6];
        h[7] = p[7];
      } else {
        h[0] = tree[VIGIL_MERKLE_SLOT(src_off, src_stride, a, 0u)];
        h[1] = tree[VIGIL_MERKLE_SLOT(src_off, src_stride, a, 1u)];
        h[2] = tree[VIGIL_MERKLE_SLOT(src_off, src_stride, a, 2u)];
        h[3] = tree[VIGIL_MERKLE_SLOT(src_off, src_stride, a, 3u)];
        h[4] = tree[VIGIL_MERKLE_SLOT(src_off, src_stride, a, 4u)];
        h[5] = tree[VIGIL_MERKLE_SLOT(src_off, src_stride, a, 5u)];
        h[6] = tree[VIGIL_MERKLE_SLOT(src_off, src_stride, a, 6u)];
        h[7] = tree[VIGIL_MERKLE_SLOT(src_off, src_stride, a, 7u)];
      }
    }
    if (t < pairs || carry != 0u) {
      tree[VIGIL_MERKLE_SLOT(dst_off, dst_stride, t, 0u)] = h[0];
      tree[VIGIL_MERKLE_SLOT(dst_off, dst_stride, t, 1u)] = h[1];
      tree[VIGIL_MERKLE_SLOT(dst_off, dst_stride, t, 2u)] = h[2];
      tree[VIGIL_MERKLE_SLOT(dst_off, dst_stride, t, 3u)] = h[3];
      tree[VIGIL_MERKLE_SLOT(dst_off, dst_stride, t, 4u)] = h[4];
      tree[VIGIL_MERKLE_SLOT(dst_off, dst_stride, t, 5u)] = h[5];
      tree[VIGIL_MERKLE_SLOT(dst_off, dst_stride, t, 6u)] = h[6];
      tree[VIGIL_MERKLE_SLOT(dst_off, dst_stride, t, 7u)] = h[7];
    }
    count = pairs + (count & 1u);
    first = 0u;
    src_off = dst_off;
    src_stride = dst_stride;
    VIGIL_BARRIER();
  }

  /* The group's root: its only node (n = 1), or slot 0 of the region written last;
   * word k by work-item k mod W. */
  if (n != 0u) {
    u32 k;
    for (k = t; k < 8u; k += w) {
      out[(u64)g * 8u + k] =
          first != 0u ? group_in[k] : tree[VIGIL_MERKLE_SLOT(src_off, src_stride, 0u, k)];
    }
  }
}

#undef VIGIL_MERKLE_SLOT
