// gpumem.js counts the bytes of live GPU buffers of every WebGPU device
// the page opens (ours and TF.js's): createBuffer adds, GPUBuffer.destroy
// and GPUDevice.destroy subtract. gpuMem.peak is the high-water mark since
// the last gpuMem.reset().
'use strict';
const gpuMem = { live: 0, peak: 0, reset() { this.peak = this.live; } };
if (self.GPUDevice && self.GPUBuffer) {
  const owner = new Map(); // GPUBuffer -> [device, size]
  const byDevice = new Map(); // GPUDevice -> Set<GPUBuffer>
  const create = GPUDevice.prototype.createBuffer;
  GPUDevice.prototype.createBuffer = function (desc) {
    const b = create.call(this, desc);
    owner.set(b, [this, desc.size]);
    if (!byDevice.has(this)) byDevice.set(this, new Set());
    byDevice.get(this).add(b);
    gpuMem.live += desc.size;
    gpuMem.peak = Math.max(gpuMem.peak, gpuMem.live);
    return b;
  };
  const release = (b) => {
    const o = owner.get(b);
    if (!o) return;
    owner.delete(b);
    byDevice.get(o[0]).delete(b);
    gpuMem.live -= o[1];
  };
  const destroyBuffer = GPUBuffer.prototype.destroy;
  GPUBuffer.prototype.destroy = function () {
    release(this);
    return destroyBuffer.call(this);
  };
  const destroyDevice = GPUDevice.prototype.destroy;
  GPUDevice.prototype.destroy = function () {
    for (const b of byDevice.get(this) || []) release(b);
    byDevice.delete(this);
    return destroyDevice.call(this);
  };
}
