/**
 * The indices of the k largest `scores`, best first, skipping `excluded` (sorted ascending).
 * A size-k min-heap keeps this O(J log k) for a catalogue of J items.
 */
export function topK(scores: Float32Array, k: number, excluded?: ArrayLike<number>): Int32Array {
  const heapItems = new Int32Array(k);
  const heapScores = new Float64Array(k);
  let size = 0;
  let nextExcluded = 0;
  const numExcluded = excluded?.length ?? 0;

  for (let item = 0; item < scores.length; item++) {
    while (nextExcluded < numExcluded && (excluded as ArrayLike<number>)[nextExcluded] < item) {
      nextExcluded++;
    }
    if (nextExcluded < numExcluded && (excluded as ArrayLike<number>)[nextExcluded] === item) {
      continue;
    }
    const score = scores[item];
    if (size < k) {
      heapItems[size] = item;
      heapScores[size] = score;
      siftUp(heapItems, heapScores, size++);
    } else if (k > 0 && score > heapScores[0]) {
      heapItems[0] = item;
      heapScores[0] = score;
      siftDown(heapItems, heapScores, size);
    }
  }

  const order = Array.from({ length: size }, (_, n) => n).sort(
    (a, b) => heapScores[b] - heapScores[a] || heapItems[a] - heapItems[b],
  );
  return Int32Array.from(order, (n) => heapItems[n]);
}

function siftUp(items: Int32Array, scores: Float64Array, index: number): void {
  while (index > 0) {
    const parent = (index - 1) >> 1;
    if (scores[parent] <= scores[index]) return;
    swap(items, scores, parent, index);
    index = parent;
  }
}

function siftDown(items: Int32Array, scores: Float64Array, size: number): void {
  let index = 0;
  for (;;) {
    const left = 2 * index + 1;
    const right = left + 1;
    let smallest = index;
    if (left < size && scores[left] < scores[smallest]) smallest = left;
    if (right < size && scores[right] < scores[smallest]) smallest = right;
    if (smallest === index) return;
    swap(items, scores, smallest, index);
    index = smallest;
  }
}

function swap(items: Int32Array, scores: Float64Array, a: number, b: number): void {
  const item = items[a];
  items[a] = items[b];
  items[b] = item;
  const score = scores[a];
  scores[a] = scores[b];
  scores[b] = score;
}
