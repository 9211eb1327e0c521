// Classifies images with the npm package nsfwjs itself, as its users do:
// nsfwjs.load(MODEL) and model.classify(image, 5) on @tensorflow/tfjs's
// CPU backend. classify takes a tf.Tensor3D of int32 pixels the way
// tf.browser.fromPixels gives them, divides by 255, resizes with
// tf.image.resizeBilinear(..., alignCorners = true) when the size differs,
// and reads the model's output as probabilities. The reference for what
// `cnn predict --image`, the browser library's classify() and the
// Worker's /v1/classify print (tfjsref.go).
//
//   node nsfwjs_classify.cjs MODEL LIST.json
//
// LIST.json is [{"file": "a.rgb", "h": 300, "w": 200}, ...], each file h*w*3
// bytes of RGB; stdout is one JSON array per image of
// {className, probability}, most probable first. Packages resolve from the
// repository's node_modules; nothing is fetched.
const fs = require('node:fs');
const tf = require('@tensorflow/tfjs');
require('@tensorflow/tfjs-backend-cpu');
const nsfwjs = require('nsfwjs');

const [model, list] = process.argv.slice(2);
if (!list) {
  console.error('usage: node nsfwjs_classify.cjs MODEL LIST.json');
  process.exit(2);
}
console.info = () => {}; // nsfwjs.load greets on the console
(async () => {
  if (!(await tf.setBackend('cpu'))) throw new Error('no cpu backend');
  const m = await nsfwjs.load(model);
  const out = [];
  for (const im of JSON.parse(fs.readFileSync(list, 'utf8'))) {
    const px = fs.readFileSync(im.file);
    if (px.length !== im.h * im.w * 3) throw new Error(`${im.file}: ${px.length} bytes for ${im.h}x${im.w} RGB`);
    const t = tf.tensor3d(Int32Array.from(px), [im.h, im.w, 3], 'int32');
    out.push(await m.classify(t, 5));
    t.dispose();
  }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
