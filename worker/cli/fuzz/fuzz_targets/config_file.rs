//! Arbitrary text as the daemon's configuration file: parsing never panics, and a file
//! that is accepted means the same after being written back out.
#![no_main]

use tenax::Config;

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let no_env = |_: &str| None;
    let Ok(parsed) = Config::from_toml_str(text, "fuzz.toml", no_env) else {
        return;
    };
    let written = toml::to_string(&parsed).expect("an accepted configuration serialises");
    let again = Config::from_toml_str(&written, "written.toml", no_env)
        .unwrap_or_else(|e| panic!("written back, it is refused: {e}\n{written}"));
    assert_eq!(
        parsed, again,
        "written back, it means something else:\n{written}"
    );
});
