//! The YAML loader: any text is documents or one located error, and what
//! the emitter writes of a loaded value reads back as the same value.
#![no_main]

use infra_syntax::{FileId, yaml};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(docs) = yaml::load(FileId(0), text) else { return };
    for doc in docs {
        let value = doc.into_value();
        let emitted = yaml::emit(&value);
        let back =
            yaml::parse_value(&emitted).unwrap_or_else(|e| panic!("emitted YAML does not load: {e:?}\n{emitted}"));
        assert_eq!(back, value, "emitted:\n{emitted}");
    }
});
