// @lockstep/random: PyTorch's CPU random streams, bit for bit — generators and seeding, the
// random tensor factories and in-place fills, nn.init-style initialisers and the dropout mask.
// Loading this package also connects `Tensor.uniform_/normal_/bernoulli_` to the fills here.
import { state } from "@lockstep/core";
import { bernoulli_, normal_, uniform_ } from "./fills.js";
import { multinomial } from "./multinomial.js";
import type { Generator } from "./generator.js";

export { Generator, DEFAULT_GENERATOR_SEED, STATE_BYTES, LEGACY_STATE_BYTES } from "./generator.js";
export { type Seed, normalizeSeed } from "./generator.js";
export {
  defaultGenerator,
  forkRng,
  getRngState,
  initialSeed,
  manualSeed,
  seed,
  setRngState,
} from "./default-generator.js";
export { bernoulli, rand, randint, randn, randperm, type RandomTensorOptions } from "./creation.js";
export { bernoulli_, normal_, uniform_, type FillOptions } from "./fills.js";
export {
  calculateGain,
  constant_,
  fanInAndFanOut,
  kaimingNormal_,
  kaimingUniform_,
  ones_,
  xavierNormal_,
  xavierUniform_,
  zeros_,
  type FanMode,
  type KaimingOptions,
  type Nonlinearity,
  type XavierOptions,
} from "./init.js";
export { dropoutMask, type DropoutMaskOptions } from "./creation.js";
export { multinomial, type MultinomialOptions } from "./multinomial.js";

// Building blocks, exported for backends and tests that need the same arithmetic.
export { MT19937, MT_STATE_WORDS } from "./mt19937.js";
export { fma32, fma64 } from "./fma.js";
export { logFloat32, sinCosFloat32, type SinCos } from "./float32-math.js";
export {
  cos as correctlyRoundedCos,
  log as correctlyRoundedLog,
  sin as correctlyRoundedSin,
  sinCos as correctlyRoundedSinCos,
} from "./correctly-rounded.js";

// Tensor methods in core (t.uniform_(), t.normal_(), t.bernoulli_()) call these hooks.
state.random = {
  uniform_(t, from, to, options) {
    uniform_(t, from, to, { generator: options?.generator as Generator | undefined });
  },
  normal_(t, mean, std, options) {
    normal_(t, mean, std, { generator: options?.generator as Generator | undefined });
  },
  bernoulli_(t, p, options) {
    bernoulli_(t, p, { generator: options?.generator as Generator | undefined });
  },
  multinomial(probs, numSamples, options) {
    return multinomial(probs, numSamples, { ...options, generator: options?.generator as Generator | undefined });
  },
};
