//! The numbers a user may set in the environment (`INFRA_*`), each read and
//! checked in one place. A command checks them all before it starts
//! ([`check_all`]), so a bad value is a clear error instead of a panic or a
//! limit silently read as something else; the library reads them with
//! [`get`], which falls back to the default only for values that the check
//! would have refused.

/// One setting: its variable, default and the range it accepts.
#[derive(Debug, PartialEq)]
pub struct Setting {
    pub name: &'static str,
    pub default: u64,
    pub min: u64,
    pub max: u64,
    /// What the number counts, for messages.
    pub unit: &'static str,
}

/// The largest YAML or JSON file read (and any file a chart holds).
pub const MAX_FILE_BYTES: Setting =
    Setting { name: "INFRA_MAX_FILE_BYTES", default: 16 << 20, min: 1, max: 1 << 40, unit: "bytes" };
/// The most objects one build may make, all environments together.
pub const MAX_OBJECTS: Setting =
    Setting { name: "INFRA_MAX_OBJECTS", default: 250_000, min: 1, max: 100_000_000, unit: "objects" };
/// The most YAML one build may write, all environments together.
pub const MAX_OUTPUT_BYTES: Setting =
    Setting { name: "INFRA_MAX_OUTPUT_BYTES", default: 256 << 20, min: 1, max: 1 << 40, unit: "bytes" };
/// How long Helm may run.
pub const HELM_TIMEOUT: Setting =
    Setting { name: "INFRA_HELM_TIMEOUT", default: 120, min: 1, max: 86_400, unit: "seconds" };
/// How long one HTTP request may take in all.
pub const HTTP_TIMEOUT: Setting =
    Setting { name: "INFRA_HTTP_TIMEOUT", default: 10, min: 1, max: 86_400, unit: "seconds" };
/// Threads for the per-object stages (default: the machine's parallelism).
pub const THREADS: Setting = Setting { name: "INFRA_THREADS", default: 0, min: 1, max: 256, unit: "threads" };

pub const ALL: &[&Setting] =
    &[&MAX_FILE_BYTES, &MAX_OBJECTS, &MAX_OUTPUT_BYTES, &HELM_TIMEOUT, &HTTP_TIMEOUT, &THREADS];

/// A setting set to what it does not accept: which, and the text.
#[derive(Debug, Clone, PartialEq)]
pub struct BadSetting {
    pub setting: &'static Setting,
    pub text: String,
}

impl std::fmt::Display for BadSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.setting;
        write!(f, "{} is {:?}; it is a whole number of {} from {} to {}", s.name, self.text, s.unit, s.min, s.max)
    }
}

impl Setting {
    /// The value set in the environment: `Ok(None)` when unset.
    pub fn read(&'static self) -> Result<Option<u64>, BadSetting> {
        let Some(raw) = std::env::var_os(self.name) else { return Ok(None) };
        let text = raw.to_string_lossy();
        match text.trim().parse::<u64>() {
            Ok(n) if (self.min..=self.max).contains(&n) => Ok(Some(n)),
            _ => Err(BadSetting { setting: self, text: text.into_owned() }),
        }
    }
}

/// The value of a setting: as set, or its default.
pub fn get(s: &'static Setting) -> u64 {
    s.read().ok().flatten().unwrap_or(s.default)
}

/// Every setting that is set to something it does not accept.
pub fn check_all() -> Vec<BadSetting> {
    ALL.iter().filter_map(|s| s.read().err()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_in_range() {
        for s in ALL {
            assert!(s.default == 0 && s.name == "INFRA_THREADS" || (s.min..=s.max).contains(&s.default), "{}", s.name);
        }
    }
}
