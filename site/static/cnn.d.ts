// Type declarations of cnn.mjs, the webcnn browser library.

/** What classify and ensemble accept: every kind is drawn at most 1024 pixels a side before its pixels reach the runtime. */
export type ImageInput =
  | ImageData
  | HTMLImageElement
  | HTMLCanvasElement
  | HTMLVideoElement
  | OffscreenCanvas
  | ImageBitmap
  | VideoFrame
  | Blob
  | ArrayBuffer
  | Uint8Array;

export type BackendName = "cpu" | "webgpu";

/** The cause of a rejected Promise, in WebCNNError.code. */
export type ErrorCode =
  | "network" // a request failed or the server answered an error status
  | "integrity" // a chunk's size or sha256 differs from the manifest (the message names the chunk)
  | "manifest" // the manifest cannot be used
  | "unsupported-image" // not a picture the browser or Go's decoders read
  | "budget" // the model's memory plan exceeds memoryBudget
  | "device-lost" // the WebGPU device was lost: load again
  | "bad-input" // wrong option, tensor size or backend name
  | "disposed" // the model was disposed
  | "aborted" // the caller's AbortSignal stopped a long run
  | "internal"; // a bug: please report it

export interface WebCNNError extends Error {
  name: "WebCNNError";
  code: ErrorCode;
}

export interface LoadOptions {
  /** "auto" (default): WebGPU on a hardware adapter, else the CPU. "webgpu" falls back to the CPU (see backendNote) where WebGPU is unavailable. */
  backend?: BackendName | "auto";
  /** Called as bytes arrive (cached chunks count at once). */
  onProgress?: (done: number, total: number) => void;
  /** Refuse, before downloading, a model whose parameters plus activations exceed this many bytes (0: no limit). */
  memoryBudget?: number;
  /** Chunks fetched at once (default 6). */
  parallel?: number;
  /** Keep verified chunks in the Cache API (default true). */
  cache?: boolean;
}

export interface ClassifyOptions {
  /** How many classes to answer: a whole number from 1 (default 5); anything else rejects with "bad-input". */
  topk?: number;
  /** Monte-Carlo dropout: M forward passes with dropout on (batch norm in inference); answers each class's mean and variance. 0 (default) or a whole number from 2 to 10000. */
  mcDropout?: number;
  /** Seed of the dropout masks (default: the clock): a whole number from 0 to 2^53. */
  seed?: number;
  /** Called after each pass of an MC-dropout run (or of an ensemble of heads). */
  onPass?: (done: number, total: number) => void;
  /** Stops a long run at its next pass; the Promise rejects with code "aborted". */
  signal?: AbortSignal;
}

export interface Prediction {
  label: string;
  index: number;
  /** The probability (with mcDropout or an ensemble: the mean). */
  prob: number;
  /** With mcDropout or an ensemble: 1/M sum_m p_m. */
  mean?: number;
  /** With mcDropout or an ensemble: 1/M sum_m (p_m - mean)^2. */
  variance?: number;
}

export interface Summary {
  id: string;
  model: string;
  /** Zoo architecture id, or "graph" for an imported model. */
  arch: string;
  backend: BackendName;
  backendNote: string;
  params?: number;
  macs?: number;
  layers?: number;
  dropoutLayers?: number;
  classes?: number;
  downloadBytes: number;
  chunks: number;
  dtypes: string[];
  paramBytes: number;
  activationBytes: number;
  input: { shape: number[]; channelOrder: "RGB" | "BGR" | "GRAY" };
  labels: string[];
  output: "logits" | "probabilities";
}

export interface LoadStats {
  chunks: number;
  /** Chunks served by the Cache API (no request made). */
  cachedChunks: number;
  /** Chunk requests made. */
  requests: number;
  ms: number;
}

export declare class Model {
  readonly backend: BackendName;
  readonly backendNote: string;
  readonly id: string;
  readonly labels: string[];
  /** NHWC, batch 1. */
  readonly inputShape: number[];
  readonly loadStats: LoadStats;
  summary(): Summary;
  classify(image: ImageInput, options?: ClassifyOptions): Promise<Prediction[]>;
  /** A raw NHWC input of inputShape's size; resolves to the raw outputs (logits), or their MC-dropout mean and variance. */
  predict(input: Float32Array, options?: { mcDropout?: undefined | 0; seed?: number }): Promise<Float32Array>;
  predict(input: Float32Array, options: { mcDropout: number; seed?: number }): Promise<{ mean: Float32Array; variance: Float32Array }>;
  /**
   * Trains a new head (dropout, then Linear) on this model's frozen
   * features (a zoo Sequential cut before its last layer with weights, e.g.
   * LeNet-5's 84 fc2 features; an imported graph cut at its last pooling
   * node, globally pooled: MobileNetV3's channels for paddleocr-cls), on
   * this model's backend, in the runtime's worker.
   */
  finetune(options: FinetuneOptions): Promise<FineTuned>;
  /** The memory fine-tuning will hold, before it starts (unfreeze: the backbone's last blocks trained too). */
  finetunePlan(options: { unfreeze?: number; examples: number; classes?: number }): Promise<{
    blocks: number; maxBlocks: number; at: string; features: number; trainableParams: number; bytes: number;
    parts: { weights: number; optimizer: number; inputs: number; activations: number; stem: number };
  }>;
  /** Frees the model's memory, GPU buffers included. */
  dispose(): Promise<void>;
}

export interface FinetuneStep {
  step: number; // 1-based
  steps: number;
  loss: number; // softmax cross-entropy (label-smoothed) of the step's batch
  acc: number; // training accuracy of the step's forward pass (dropout on)
}

export interface FinetuneOptions {
  /** Two classes or more, a few images each. */
  images: ImageInput[];
  /** images[i]'s class name (numbers are turned into strings). */
  labels: (string | number)[];
  /** The classes' order in the head (default: order of first appearance in labels). */
  classes?: string[];
  /** Full-batch AdamW steps over all images and their augmented copies (default 40). */
  epochs?: number;
  /** AdamW learning rate (default 0.01). */
  lr?: number;
  weightDecay?: number; // default 0.01, not on the bias
  /** Train on augmented copies too: rotation ±12°, shift ±6%, scale 0.9-1.1, brightness/contrast ±30%, saturation ±20% (default true). */
  augment?: boolean;
  /** Augmented copies per image, drawn once before training (default 4). */
  copies?: number;
  /** Also train the backbone's last blocks (1 to summary().trainableBlocks; imported graphs), at tailLR times lr (default 0.01). The saved delta holds them. */
  unfreeze?: number;
  tailLR?: number;
  /** Dropout before the Linear head (default 0.2; MC-dropout classify uses it). */
  dropout?: number;
  labelSmoothing?: number; // default 0.1
  seed?: number;
  /** Called after every step (through the worker's messages). */
  onStep?: (s: FinetuneStep) => void;
}

/** A head trained by Model.finetune, or loaded from its file. */
export declare class FineTuned {
  /** Its backbone. */
  readonly model: Model;
  readonly labels: string[];
  /** features, cut, dropout, base (model id); examples, loss, acc, ms after training. */
  readonly stats: { features: number; cut: string; dropout: number; base: string; unfrozen: number; examples?: number; loss?: number; acc?: number; ms?: number };
  classify(image: ImageInput, options?: ClassifyOptions): Promise<Prediction[]>;
  /** The delta manifest: JSON (format "webcnn-delta-1") naming the backbone (model id, manifest URL), the head's tensors in one content-addressed chunk, inlined. */
  save(): Promise<Blob>;
  /** Loads a saved head onto its (already loaded) backbone; another model rejects with "bad-input", a damaged chunk with "integrity". */
  static load(delta: Blob | ArrayBuffer | Uint8Array | string, backbone: Model): Promise<FineTuned>;
  dispose(): Promise<void>;
}

export interface Ensemble {
  readonly models: Model[] | FineTuned[];
  /** Each member's probabilities combined: mean and variance per class (of fine-tuned heads: over every head and, with mcDropout, every mask). */
  classify(image: ImageInput, options?: ClassifyOptions): Promise<Required<Prediction>[]>;
}

export interface InitOptions {
  /** cnn.wasm (default: beside cnn.mjs; cnn-scalar.wasm there where WebAssembly.validate finds no wasm SIMD). */
  wasmURL?: string | URL;
  /** Go's wasm_exec.js (default: beside cnn.mjs). */
  execURL?: string | URL;
  /** cnn-worker.mjs (default: beside cnn.mjs). */
  workerURL?: string | URL;
  /** Run the runtime in a dedicated worker so the page never blocks (default: true in a page, false in a worker). */
  worker?: boolean;
}

/** Starts the runtime; load() calls it with the defaults. Call it first to change them. */
export declare function init(options?: InitOptions): Promise<unknown>;
export declare function load(manifestURL: string | URL, options?: LoadOptions): Promise<Model>;
/** Loads a fine-tuned head's file onto its backbone (FineTuned.load). */
export declare function load(delta: Blob | ArrayBuffer | Uint8Array, backbone: Model): Promise<FineTuned>;
export declare function ensemble(models: Iterable<Model> | Iterable<FineTuned>): Ensemble;
export declare function clearCache(): Promise<boolean>;
/** The bytes of WebAssembly memory the runtime holds (it grows and is never given back). */
export declare function memoryBytes(): Promise<number>;
