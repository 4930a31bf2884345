"""The same loops on one GPU, as users run them there (bf16, CUDA): recorded on the device machine
only (`device="cuda"`; `record.py` skips them where `nvidia-smi` is missing). What a GPU adds to the
console: Lightning's `GPU available: True (cuda), used: True`, `LOCAL_RANK: 0 - CUDA_VISIBLE_DEVICES`
and Tensor Cores advice; the Trainer's bf16 mixed precision; and the CUDA caching allocator's own
`torch.OutOfMemoryError: CUDA out of memory. Tried to allocate ...` through each framework's stack."""

from lab.scenario import Expect, Scenario

LIGHTNING = ("{py}", "{scripts}/lightning_run.py", "--bar", "tqdm", "--accelerator", "gpu", "--precision", "bf16-mixed")
HF = ("{py}", "{scripts}/hf_trainer.py", "--cuda")
NANOGPT = ("{py}", "-u", "{scripts}/nanogpt_loop.py", "--device", "cuda", "--tensorboard", "runs")
TORCHRUN_NCCL = ("{bin}/torchrun", "--nproc_per_node", "2", "--tee", "3", "{scripts}/ddp_loop.py", "--nccl")
# A model big enough to keep the GPU busy (~10 ms a step on an H100): what `gpu_util_low` and the sampler
# see beside a hang or a starved loop is the GPU going idle, not a tiny model's launch overhead.
NANOGPT_BUSY = NANOGPT + ("--d", "512", "--layers", "8", "--batch", "32", "--ctx", "256", "--vocab", "8192",
                          "--log-interval", "20", "--eval-interval", "500")
NAN = Expect("nonfinite", severity="critical")
OOM = Expect("crash", cause="oom", severity="critical")


def _gpu(name: str, framework: str, argv: tuple[str, ...], fault: str = "none", **kw: object) -> Scenario:
    return Scenario(name, framework, argv, fault=fault, device="cuda", timeout_s=240.0, **kw)  # type: ignore[arg-type]


SCENARIOS = [
    _gpu("gpu-lightning-tqdm-healthy", "lightning", LIGHTNING),
    _gpu("gpu-lightning-tqdm-nan", "lightning", LIGHTNING, "nan@100", expect=(NAN,)),
    _gpu("gpu-lightning-tqdm-cudaoom", "lightning", LIGHTNING, "cudaoom@100", expect=(OOM,)),
    _gpu("gpu-hf-healthy", "transformers", HF),
    _gpu("gpu-hf-nan", "transformers", HF, "nan@33", expect=(NAN,),
         notes="bf16 on the GPU; the NaN loss is filtered from the logged mean, the grad norm is NaN"),
    _gpu("gpu-hf-cudaoom", "transformers", HF, "cudaoom@50", expect=(OOM,)),
    _gpu("gpu-nanogpt-healthy", "torch", NANOGPT),
    _gpu("gpu-nanogpt-nan", "torch", NANOGPT, "nan@300", expect=(NAN,)),
    _gpu("gpu-nanogpt-cudaoom", "torch", NANOGPT, "cudaoom@300", expect=(OOM,)),
    _gpu("gpu-nanogpt-devassert", "torch", NANOGPT, "devassert@300", expect=(Expect("crash", severity="critical"),),
         notes="cross_entropy on the GPU with a class index out of range: the kernel's assert lines, then the "
               "RuntimeError 'CUDA error: device-side assert triggered'"),
    _gpu("gpu-nanogpt-hang", "torch", NANOGPT_BUSY + ("--iters", "1200"), "hang@600~75",
         expect=(Expect("stall", resolves=True, live_only=True),),
         notes="a busy GPU run stops for 75 s (the GPU idles) and goes on: gpu_check.sh watches it live with the "
               "real NVML sampler"),
    _gpu("gpu-nanogpt-starve", "torch", NANOGPT_BUSY + ("--iters", "1200"), "slow@600x5",
         expect=(Expect("step_time_drift"),),
         notes="every step from 600 on is 5x as long, the time spent asleep off the GPU (a starved loop): the "
               "printed `time` shows the drift; live, the real sampler's utilisation falls (gpu_util_low)"),
    _gpu("gpu-torchrun-nccl-dupgpu", "torch", TORCHRUN_NCCL, env=(("PYTHONUNBUFFERED", "1"),),
         expect=(Expect("crash", cause="nccl_error", severity="critical"),),
         notes="two NCCL ranks on the machine's one GPU: NCCL refuses them at DDP's first broadcast "
               "(no fault planted: the launch itself is wrong, as a wrong CUDA_VISIBLE_DEVICES makes it)"),
]
