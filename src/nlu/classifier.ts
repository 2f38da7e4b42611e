import { features } from './features.ts';

/** Training options; defaults were chosen by cross-validation (bench/nlu.ts). */
export interface TrainOptions {
  /** Passes over the data. Default 12. */
  epochs?: number;
  /** Initial SGD step, decayed linearly to zero. Default 1.0. */
  learningRate?: number;
  /** Seed for the shuffle, so a model is reproducible. Default 1. */
  seed?: number;
}

export interface Prediction<L extends string> {
  label: L;
  p: number;
  ranked: Array<{ label: L; p: number }>;
  /** Share of the text's features the model has seen in training (0..1); low means out of domain. */
  coverage: number;
}

/** A sparse TF-IDF vector: the first `n` entries of `ids` and `values`; `features` counts all the text's features, seen or not. */
export interface SparseVector {
  ids: Int32Array;
  values: Float64Array;
  n: number;
  features: number;
}

/**
 * Feature ids and IDF weights learnt from a set of texts. Models trained on the
 * same texts learn the same vocabulary, so they can share one and a text is
 * vectorised (one hash lookup per feature) once for all of them.
 */
export class Vocabulary {
  private constructor(
    private readonly index: Map<string, number>,
    private readonly idf: Float32Array,
  ) {}

  static fit(docs: Iterable<Map<string, number>>): Vocabulary {
    const index = new Map<string, number>();
    const docFreq: number[] = [];
    let n = 0;
    for (const f of docs) {
      n++;
      for (const key of f.keys()) {
        let id = index.get(key);
        if (id === undefined) {
          id = index.size;
          index.set(key, id);
          docFreq.push(0);
        }
        docFreq[id] = (docFreq[id] ?? 0) + 1;
      }
    }
    const idf = Float32Array.from(docFreq, (df) => Math.log((1 + n) / (1 + df)) + 1);
    return new Vocabulary(index, idf);
  }

  get size(): number {
    return this.index.size;
  }

  /** TF-IDF vector, sublinear tf, L2-normalised; unseen features are dropped. */
  vector(f: Map<string, number>): SparseVector {
    const ids = new Int32Array(f.size);
    const values = new Float64Array(f.size);
    let n = 0;
    let norm = 0;
    for (const [key, count] of f) {
      const id = this.index.get(key);
      if (id === undefined) continue;
      const v = (1 + Math.log(count)) * (this.idf[id] as number);
      ids[n] = id;
      values[n++] = v;
      norm += v * v;
    }
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < n; i++) values[i] = (values[i] as number) / norm;
    return { ids, values, n, features: f.size };
  }
}

/**
 * A multinomial logistic-regression text classifier over sparse TF-IDF features,
 * trained with averaged SGD. Small, dependency-free and fast: classifying a
 * sentence touches a few hundred weights.
 */
export class TextClassifier<L extends string> {
  private constructor(
    readonly labels: readonly L[],
    readonly vocabulary: Vocabulary,
    private readonly weights: Float32Array,
    private readonly bias: Float32Array,
  ) {}

  /**
   * Pass another model's `vocabulary` to share it (see `Vocabulary`); trained on
   * the same texts, the model is the same as with its own.
   */
  static train<L extends string>(
    examples: Array<{ text: string; label: L }>,
    opts: TrainOptions = {},
    vocabulary?: Vocabulary,
  ): TextClassifier<L> {
    const { epochs = 12, learningRate = 1.0, seed = 1 } = opts;
    const labels = [...new Set(examples.map((e) => e.label))].sort();
    const labelIndex = new Map(labels.map((l, i) => [l, i]));
    const docs = examples.map((e) => features(e.text));
    const vocab = vocabulary ?? Vocabulary.fit(docs);
    const data = docs.map((f, i) => ({
      x: vocab.vector(f),
      y: labelIndex.get((examples[i] as { label: L }).label) as number,
    }));
    const C = labels.length;
    const size = vocab.size;

    // Averaged SGD: the running average of the weights generalises better than the last iterate.
    const w = new Float32Array(size * C);
    const b = new Float32Array(C);
    const wSum = new Float64Array(size * C);
    const bSum = new Float64Array(C);
    const order = data.map((_, i) => i);
    const random = mulberry32(seed);
    const total = epochs * data.length;
    let t = 0;
    const scores = new Float64Array(C);
    for (let epoch = 0; epoch < epochs; epoch++) {
      shuffle(order, random);
      for (const i of order) {
        const { x, y } = data[i] as { x: SparseVector; y: number };
        const lr = learningRate * (1 - t / total);
        softmax(x, w, b, C, scores);
        for (let c = 0; c < C; c++) {
          const g = (scores[c] as number) - (c === y ? 1 : 0);
          if (Math.abs(g) < 1e-4) continue;
          const step = lr * g;
          b[c] = (b[c] as number) - step;
          // Lazy averaging trick: weight the update by how many steps remain.
          bSum[c] = (bSum[c] as number) - step * (total - t);
          for (let j = 0; j < x.n; j++) {
            const v = x.values[j] as number;
            const k = (x.ids[j] as number) * C + c;
            w[k] = (w[k] as number) - step * v;
            wSum[k] = (wSum[k] as number) - step * v * (total - t);
          }
        }
        t++;
      }
    }
    const weights = new Float32Array(size * C);
    const bias = new Float32Array(C);
    for (let k = 0; k < wSum.length; k++) weights[k] = (wSum[k] as number) / total;
    for (let c = 0; c < C; c++) bias[c] = (bSum[c] as number) / total;
    return new TextClassifier(labels, vocab, weights, bias);
  }

  predict(text: string): Prediction<L> {
    return this.predictVector(this.vocabulary.vector(features(text)));
  }

  /** `predict` on a vector already made with this model's `vocabulary`, for models that share it. */
  predictVector(x: SparseVector): Prediction<L> {
    const C = this.labels.length;
    const scores = new Float64Array(C);
    softmax(x, this.weights, this.bias, C, scores);
    const ranked = this.labels
      .map((label, c) => ({ label, p: scores[c] as number }))
      .sort((a, b) => b.p - a.p);
    const top = ranked[0] as { label: L; p: number };
    return { label: top.label, p: top.p, ranked, coverage: x.features ? x.n / x.features : 0 };
  }
}

function softmax(x: SparseVector, w: Float32Array, b: Float32Array, C: number, out: Float64Array): void {
  for (let c = 0; c < C; c++) out[c] = b[c] as number;
  for (let i = 0; i < x.n; i++) {
    const base = (x.ids[i] as number) * C;
    const v = x.values[i] as number;
    for (let c = 0; c < C; c++) out[c] = (out[c] as number) + (w[base + c] as number) * v;
  }
  let max = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < C; c++) max = Math.max(max, out[c] as number);
  let sum = 0;
  for (let c = 0; c < C; c++) {
    out[c] = Math.exp((out[c] as number) - max);
    sum += out[c] as number;
  }
  for (let c = 0; c < C; c++) out[c] = (out[c] as number) / sum;
}

function shuffle(a: number[], random: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j] as number, a[i] as number];
  }
}

function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
