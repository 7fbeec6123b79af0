//! Where replicas train: burn's pure-Rust `flex` CPU backend (the default) or, in a build with
//! the `cuda` cargo feature, an NVIDIA GPU through burn's CUDA backend (cubecl-cuda, which loads
//! the driver's `libcuda` at run time: building needs no CUDA toolkit, running needs the driver).
//! Building that backend needs network access once: cubecl-cuda 0.11 depends on cubecl-llvm,
//! whose build script downloads a prebuilt LLVM 23.1 (tracel-llvm 23.1.0-4) into
//! `~/.local/share/tracel`; where it cannot (this project's machines and CI), the `cuda` build
//! fails there (BENCHMARKS.md, "GPU").
//!
//! The choice is made at run time (`--device cpu | cuda | cuda:N`) and checked before anything is
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
}

/// Why a device cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// Not `cpu`, `cuda` or `cuda:N`.
    #[error("'{text}' is not a device: use cpu, cuda or cuda:N (N the GPU's CUDA index)")]
    Parse {
        /// What was given.
        text: String,
    },
    /// A GPU was asked of a binary built without its backend.
    #[error(
        "this critlab binary was built without the `cuda` feature, so it cannot train on `{device}`; \
         build it with `cargo build --release --features cuda` (where the build can download: burn's \
         CUDA backend fetches a prebuilt LLVM once; no CUDA toolkit is needed, and only the NVIDIA \
         driver to run) or use --device cpu"
    )]
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
        }
    }

    /// Whether this binary was built with the backend the device needs.
    pub fn compiled(&self) -> bool {
        match self {
            DeviceChoice::Cpu => true,
            DeviceChoice::Cuda(_) => cfg!(feature = "cuda"),
        }
    }

    /// The device, opened and checked: for a GPU, the driver is looked for, the index checked
    /// against the GPUs it sees, and one small tensor written and read back, so a broken setup
    /// fails here with a [`DeviceError`] and not later inside the backend.
    pub fn open(&self) -> Result<Device, DeviceError> {
        match *self {
            DeviceChoice::Cpu => Ok(crate::cpu_device()),
            DeviceChoice::Cuda(index) => open_cuda(*self, index),
        }
    }
}

#[cfg(not(feature = "cuda"))]
fn open_cuda(device: DeviceChoice, _index: usize) -> Result<Device, DeviceError> {
    Err(DeviceError::NotBuilt { device })
}

#[cfg(feature = "cuda")]
fn open_cuda(device: DeviceChoice, index: usize) -> Result<Device, DeviceError> {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    // The backend unwraps the driver's answers while it sets a device up: a driver that loads
    // but fails (a version mismatch, a GPU in exclusive use) panics there. Catch it, with the
    // default panic message silenced, and report it as an error.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let probe = catch_unwind(AssertUnwindSafe(|| probe_cuda(device, index)));
    std::panic::set_hook(hook);
    probe.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "the backend panicked".into());
        Err(DeviceError::Init { device, message })
    })
}

/// Looks for the driver and the GPU, then writes and reads back one value on it.
#[cfg(feature = "cuda")]
fn probe_cuda(device: DeviceChoice, index: usize) -> Result<Device, DeviceError> {
    use burn::tensor::{DeviceType, Tensor};
    // cubecl-cuda lists no device where libcuda cannot be loaded (it asks before calling into
    // the driver, which would panic), so an empty list and no loadable library mean no driver.
    let found = Device::enumerate(DeviceType::Cuda).into_vec().len();
    if found == 0 && !driver_present() {
        return Err(DeviceError::NoDriver { device });
    }
    if index >= found {
        return Err(DeviceError::NoSuchGpu { device, found });
    }
    let gpu = Device::cuda(index);
    match Tensor::<1>::zeros([1], &gpu).try_into_vec_as::<f32>() {
        Ok(_) => Ok(gpu),
        Err(e) => Err(DeviceError::Init { device, message: e.to_string() }),
    }
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
        for bad in ["gpu", "cuda:", "cuda:x", "cuda:-1", "CPU", ""] {
            assert!(matches!(bad.parse::<DeviceChoice>(), Err(DeviceError::Parse { .. })), "{bad}");
        }
        assert_eq!(DeviceChoice::Cuda(3).to_string(), "cuda:3");
        assert_eq!("cuda:3".parse::<DeviceChoice>().unwrap().to_string(), "cuda:3");
    }

    #[test]
    fn each_device_names_its_backend() {
        assert_eq!(DeviceChoice::Cpu.backend(), "burn-flex");
        assert_eq!(DeviceChoice::Cuda(1).backend(), "burn-cuda");
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn a_gpu_without_the_feature_says_how_to_build_it() {
        let err = DeviceChoice::Cuda(0).open().unwrap_err();
        assert_eq!(err, DeviceError::NotBuilt { device: DeviceChoice::Cuda(0) });
        let msg = err.to_string();
        assert!(msg.contains("`cuda` feature") && msg.contains("--features cuda"), "{msg}");
    }

    #[test]
    fn no_such_gpu_lists_the_ones_there() {
        let msg = DeviceError::NoSuchGpu { device: DeviceChoice::Cuda(2), found: 2 }.to_string();
        assert!(msg.contains("sees 2 GPU(s)") && msg.contains("cuda:0 to cuda:1"), "{msg}");
    }
}
