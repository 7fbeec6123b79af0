//! Where replicas train: burn's pure-Rust `flex` CPU backend (the default) or, in a build with
//! the `cuda` cargo feature, an NVIDIA GPU through burn's CUDA backend (cubecl-cuda, which loads
//! the driver's `libcuda` at run time: building needs no CUDA toolkit, running needs the driver).
//! Building that backend needs network access once: cubecl-cuda 0.11 depends on cubecl-llvm,
//! whose build script downloads a prebuilt LLVM 23.1 (tracel-llvm 23.1.0-4) into
//! `~/.local/share/tracel`; where it cannot (this project's machines and CI), the `cuda` build
//! fails there (BENCHMARKS.md, "GPU"; `scripts/check-cuda.sh` type-checks it without the
//! download).
//!
//! In a build with the `wgpu` feature, burn's wgpu backend (cubecl-wgpu: Vulkan on Linux, Metal,
//! DirectX; every crate from the registry, no download, the Vulkan loader opened at run time)
//! trains on the adapter wgpu picks (`--device wgpu`; `CUBECL_WGPU_DEFAULT_DEVICE` overrides
//! the pick, e.g. `Cpu` for a software Vulkan driver such as Mesa's lavapipe).
//!
//! The choice is made at run time (`--device cpu | cuda | cuda:N | wgpu`) and checked before anything is
//! trained or stored: [`DeviceChoice::open`] fails with a [`DeviceError`] saying what is missing
//! (the feature, the driver, the GPU) instead of panicking inside the backend on first use.
/// burn's device handle, which [`DeviceChoice::open`] returns and the trainer takes.
pub use burn::tensor::Device;
use std::fmt;
use std::str::FromStr;

/// A device as the user names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// burn's `flex` CPU backend (`cpu`).
    #[default]
    Cpu,
    /// The NVIDIA GPU with this CUDA index (`cuda` is `cuda:0`).
    Cuda(usize),
    /// The adapter burn's wgpu backend picks (`wgpu`).
    Wgpu,
}

/// Why a device cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// Not `cpu`, `cuda`, `cuda:N` or `wgpu`.
    #[error("'{text}' is not a device: use cpu, cuda or cuda:N (N the GPU's CUDA index), or wgpu")]
    Parse {
        /// What was given.
        text: String,
    },
    /// A GPU was asked of a binary built without its backend.
    #[error("{}", not_built(*device))]
    NotBuilt {
        /// The device asked for.
        device: DeviceChoice,
    },
    /// The NVIDIA driver library (`libcuda.so`) could not be loaded.
    #[error(
        "no NVIDIA driver on this machine (libcuda.so could not be loaded), so there is no `{device}`; \
         use --device cpu, or run where an NVIDIA GPU and its driver are installed"
    )]
    NoDriver {
        /// The device asked for.
        device: DeviceChoice,
    },
    /// The driver is there but sees no GPU with this index.
    #[error("the NVIDIA driver sees {found} GPU(s), so there is no `{device}`{}", available(*found))]
    NoSuchGpu {
        /// The device asked for.
        device: DeviceChoice,
        /// GPUs the driver sees.
        found: usize,
    },
    /// The backend failed (panicked) while opening the device.
    #[error("`{device}` could not be opened: {message}")]
    Init {
        /// The device asked for.
        device: DeviceChoice,
        /// The backend's message.
        message: String,
    },
}

fn not_built(device: DeviceChoice) -> String {
    let how = match device {
        DeviceChoice::Wgpu => {
            "(every crate comes from the registry; running needs a Vulkan, Metal or DirectX driver: \
             on Linux the Vulkan loader and a driver, e.g. Mesa's)"
        }
        _ => {
            "(where the build can download: burn's CUDA backend fetches a prebuilt LLVM once; no \
             CUDA toolkit is needed, and only the NVIDIA driver to run)"
        }
    };
    let feature = device.feature();
    format!(
        "this critlab binary was built without the `{feature}` feature, so it cannot train on `{device}`; \
         build it with `cargo build --release --features {feature}` {how} or use --device cpu"
    )
}

fn available(found: usize) -> String {
    match found {
        0 => String::new(),
        1 => " (only cuda:0)".into(),
        n => format!(" (cuda:0 to cuda:{})", n - 1),
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceChoice::Cpu => write!(f, "cpu"),
            DeviceChoice::Cuda(i) => write!(f, "cuda:{i}"),
            DeviceChoice::Wgpu => write!(f, "wgpu"),
        }
    }
}

impl FromStr for DeviceChoice {
    type Err = DeviceError;

    fn from_str(s: &str) -> Result<Self, DeviceError> {
        let bad = || DeviceError::Parse { text: s.to_string() };
        match s.trim() {
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" => Ok(DeviceChoice::Cuda(0)),
            "wgpu" => Ok(DeviceChoice::Wgpu),
            t => {
                let index = t.strip_prefix("cuda:").ok_or_else(bad)?;
                index.parse().map(DeviceChoice::Cuda).map_err(|_| bad())
            }
        }
    }
}

impl DeviceChoice {
    /// The backend's name, stored with every run trained on this device.
    pub fn backend(&self) -> &'static str {
        match self {
            DeviceChoice::Cpu => "burn-flex",
            DeviceChoice::Cuda(_) => "burn-cuda",
            DeviceChoice::Wgpu => "burn-wgpu",
        }
    }

    /// The cargo feature that builds this device's backend (none for the CPU).
    pub fn feature(&self) -> &'static str {
        match self {
            DeviceChoice::Cpu => "",
            DeviceChoice::Cuda(_) => "cuda",
            DeviceChoice::Wgpu => "wgpu",
        }
    }

    /// Whether this binary was built with the backend the device needs.
    pub fn compiled(&self) -> bool {
        match self {
            DeviceChoice::Cpu => true,
            DeviceChoice::Cuda(_) => cfg!(feature = "cuda"),
            DeviceChoice::Wgpu => cfg!(feature = "wgpu"),
        }
    }

    /// The device, opened and checked: for a GPU, the driver is looked for, the index checked
    /// against the GPUs it sees, and one small tensor written and read back, so a broken setup
    /// fails here with a [`DeviceError`] and not later inside the backend.
    pub fn open(&self) -> Result<Device, DeviceError> {
        match *self {
            DeviceChoice::Cpu => Ok(crate::cpu_device()),
            DeviceChoice::Cuda(index) => open_cuda(*self, index),
            DeviceChoice::Wgpu => open_wgpu(*self),
        }
    }
}

/// Runs `open` with panics caught and the default panic message silenced: the GPU backends
/// unwrap the driver's answers while they set a device up, so a driver that loads but fails (a
/// version mismatch, a GPU in exclusive use, no adapter) panics there. The panic becomes a
/// [`DeviceError::Init`].
#[cfg(any(feature = "cuda", feature = "wgpu"))]
fn catching(device: DeviceChoice, open: impl FnOnce() -> Result<Device, DeviceError>) -> Result<Device, DeviceError> {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let probe = catch_unwind(AssertUnwindSafe(open));
    std::panic::set_hook(hook);
    probe.unwrap_or_else(|panic| Err(DeviceError::Init { device, message: crate::panic_message(panic.as_ref()) }))
}

/// One small training step's kernels on `device`, read back and checked: a batched product,
/// a sum and their gradient through autodiff. The first use is where a backend sets itself up,
/// and an adapter can set up and still lack what the kernels need (wgpu falling back to an
/// OpenGL adapter without subgroup operations compiles no product), so more than a copy is
/// tried.
#[cfg(any(feature = "cuda", feature = "wgpu"))]
fn round_trip(choice: DeviceChoice, device: Device) -> Result<Device, DeviceError> {
    use burn::tensor::Tensor;
    let fail = |message: String| DeviceError::Init { device: choice, message };
    let x = Tensor::<3>::ones([2, 4, 8], &device);
    let w = Tensor::<3>::ones([2, 8, 3], &device).autodiff().require_grad();
    let loss = x.autodiff().matmul(w.clone()).sum();
    let value = loss.clone().inner().try_into_vec_as::<f32>().map_err(|e| fail(e.to_string()))?;
    let grads = loss.backward();
    let grad = w.grad(&grads).ok_or_else(|| fail("no gradient came back".into()))?;
    let grad = grad.try_into_vec_as::<f32>().map_err(|e| fail(e.to_string()))?;
    // Σ over 2 × 4 × 3 outputs of 8 ones each; ∂/∂w of every weight: its 4 rows of ones.
    if value != [192.0] || grad.iter().any(|&g| g != 4.0) {
        return Err(fail(format!("a test product came back wrong (sum {value:?}, gradient {grad:?})")));
    }
    Ok(device)
}

#[cfg(not(feature = "wgpu"))]
fn open_wgpu(device: DeviceChoice) -> Result<Device, DeviceError> {
    Err(DeviceError::NotBuilt { device })
}

/// The adapter wgpu picks (a discrete GPU first; `CUBECL_WGPU_DEFAULT_DEVICE` overrides), set up
/// once per process (burn's wgpu runtime is initialised once; later opens share the device) and
/// checked by [`round_trip`]. On Linux only through Vulkan: wgpu's other API there, OpenGL,
/// offers an adapter (Mesa's llvmpipe, say) that lacks the subgroup operations and float atomics
/// burn's kernels compile to, and would fail at the first product of a real run.
#[cfg(feature = "wgpu")]
fn open_wgpu(device: DeviceChoice) -> Result<Device, DeviceError> {
    use burn::tensor::wgpu::WgpuBackend;
    static OPENED: std::sync::OnceLock<Result<Device, DeviceError>> = std::sync::OnceLock::new();
    let api = if cfg!(target_os = "linux") { WgpuBackend::Vulkan } else { WgpuBackend::Auto };
    OPENED
        .get_or_init(|| {
            catching(device, || {
                let gpu = Device::wgpu_options()
                    .graphics_api(api)
                    .init()
                    .map_err(|e| DeviceError::Init { device, message: format!("no usable wgpu adapter: {e}") })?;
                round_trip(device, gpu)
            })
        })
        .clone()
}

#[cfg(not(feature = "cuda"))]
fn open_cuda(device: DeviceChoice, _index: usize) -> Result<Device, DeviceError> {
    Err(DeviceError::NotBuilt { device })
}

#[cfg(feature = "cuda")]
fn open_cuda(device: DeviceChoice, index: usize) -> Result<Device, DeviceError> {
    catching(device, || probe_cuda(device, index))
}

/// Looks for the driver and the GPU, then runs [`round_trip`] on it.
#[cfg(feature = "cuda")]
fn probe_cuda(device: DeviceChoice, index: usize) -> Result<Device, DeviceError> {
    use burn::tensor::DeviceType;
    // cubecl-cuda lists no device where libcuda cannot be loaded (it asks before calling into
    // the driver, which would panic), so an empty list and no loadable library mean no driver.
    let found = Device::enumerate(DeviceType::Cuda).into_vec().len();
    if found == 0 && !driver_present() {
        return Err(DeviceError::NoDriver { device });
    }
    if index >= found {
        return Err(DeviceError::NoSuchGpu { device, found });
    }
    round_trip(device, Device::cuda(index))
}

/// Whether the driver's library can be loaded (what cubecl-cuda checks before it calls the driver).
#[cfg(feature = "cuda")]
fn driver_present() -> bool {
    ["libcuda.so", "libcuda.so.1"].iter().any(|name| {
        let name = std::ffi::CString::new(*name).expect("no NUL in the name");
        // SAFETY: dlopen with a valid C string; a handle it returns is closed at once.
        unsafe {
            let handle = libc::dlopen(name.as_ptr(), libc::RTLD_LAZY);
            if handle.is_null() {
                false
            } else {
                libc::dlclose(handle);
                true
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms_and_refuses_others() {
        assert_eq!("cpu".parse::<DeviceChoice>(), Ok(DeviceChoice::Cpu));
        assert_eq!("cuda".parse::<DeviceChoice>(), Ok(DeviceChoice::Cuda(0)));
        assert_eq!("cuda:3".parse::<DeviceChoice>(), Ok(DeviceChoice::Cuda(3)));
        assert_eq!("wgpu".parse::<DeviceChoice>(), Ok(DeviceChoice::Wgpu));
        assert_eq!(DeviceChoice::Wgpu.to_string(), "wgpu");
        for bad in ["gpu", "cuda:", "cuda:x", "cuda:-1", "CPU", "wgpu:0", ""] {
            assert!(matches!(bad.parse::<DeviceChoice>(), Err(DeviceError::Parse { .. })), "{bad}");
        }
        assert_eq!(DeviceChoice::Cuda(3).to_string(), "cuda:3");
        assert_eq!("cuda:3".parse::<DeviceChoice>().unwrap().to_string(), "cuda:3");
    }

    #[test]
    fn each_device_names_its_backend() {
        assert_eq!(DeviceChoice::Cpu.backend(), "burn-flex");
        assert_eq!(DeviceChoice::Cuda(1).backend(), "burn-cuda");
        assert_eq!(DeviceChoice::Wgpu.backend(), "burn-wgpu");
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn a_gpu_without_the_feature_says_how_to_build_it() {
        let err = DeviceChoice::Cuda(0).open().unwrap_err();
        assert_eq!(err, DeviceError::NotBuilt { device: DeviceChoice::Cuda(0) });
        let msg = err.to_string();
        assert!(msg.contains("`cuda` feature") && msg.contains("--features cuda"), "{msg}");
    }

    #[cfg(not(feature = "wgpu"))]
    #[test]
    fn wgpu_without_the_feature_says_how_to_build_it() {
        let err = DeviceChoice::Wgpu.open().unwrap_err();
        assert_eq!(err, DeviceError::NotBuilt { device: DeviceChoice::Wgpu });
        let msg = err.to_string();
        assert!(msg.contains("`wgpu` feature") && msg.contains("--features wgpu") && msg.contains("Vulkan"), "{msg}");
    }

    #[test]
    fn no_such_gpu_lists_the_ones_there() {
        let msg = DeviceError::NoSuchGpu { device: DeviceChoice::Cuda(2), found: 2 }.to_string();
        assert!(msg.contains("sees 2 GPU(s)") && msg.contains("cuda:0 to cuda:1"), "{msg}");
    }
}
