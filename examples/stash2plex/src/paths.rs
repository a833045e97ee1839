//! Stash's path of a file to Plex's path of the same file.
//!
//! Stash and Plex often see one disk under different names: Stash in a container mounts
//! `/data`, Plex on the host reads `/mnt/media`, or Plex runs on Windows and reads
//! `D:\Media`. A mapping replaces a prefix, first match wins, and only at a path
//! component boundary (`/data` maps `/data/a.mp4`, never `/database/a.mp4`). The rest of
//! the path takes the separator of the Plex side, so a Linux Stash can feed a Windows
//! Plex.

use serde::Deserialize;

/// One prefix substitution, `stash` to `plex`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathMapping {
    /// The folder as Stash sees it, e.g. `/data`.
    pub stash: String,
    /// The same folder as Plex sees it, e.g. `/mnt/media` or `D:\Media`.
    pub plex: String,
}

impl PathMapping {
    /// Checks that neither side is empty; the error names the side.
    pub fn check(&self) -> Result<(), String> {
        if trim_separators(&self.stash).is_empty() && !self.stash.starts_with(['/', '\\']) {
            return Err("`stash` must name a folder".to_owned());
        }
        if trim_separators(&self.plex).is_empty() && !self.plex.starts_with(['/', '\\']) {
            return Err("`plex` must name a folder".to_owned());
        }
        Ok(())
    }
}

/// `path` as Plex sees it: the first mapping whose `stash` folder holds it is applied;
/// without one the path is unchanged.
pub fn to_plex(path: &str, mappings: &[PathMapping]) -> String {
    for mapping in mappings {
        let prefix = trim_separators(&mapping.stash);
        let Some(rest) = path.strip_prefix(prefix) else {
            continue;
        };
        if !(rest.is_empty() || rest.starts_with(['/', '\\'])) {
            continue;
        }
        let target = trim_separators(&mapping.plex);
        let separator = if target.contains('\\') || is_drive(target) {
            '\\'
        } else {
            '/'
        };
        let rest: String = rest
            .chars()
            .map(|c| if c == '/' || c == '\\' { separator } else { c })
            .collect();
        return format!("{target}{rest}");
    }
    path.to_owned()
}

/// The last component of `path`, whichever separator it uses.
pub fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// A folder without its trailing separators; the root `/` becomes empty, so it prefixes
/// every absolute path.
fn trim_separators(folder: &str) -> &str {
    folder.trim_end_matches(['/', '\\'])
}

/// `C:` and the like.
fn is_drive(folder: &str) -> bool {
    let bytes = folder.as_bytes();
    bytes.len() == 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(stash: &str, plex: &str) -> PathMapping {
        PathMapping {
            stash: stash.into(),
            plex: plex.into(),
        }
    }

    #[test]
    fn the_first_mapping_whose_folder_holds_the_path_applies() {
        let maps = [map("/data/", "/mnt/media"), map("/data/vr", "/vr")];
        assert_eq!(to_plex("/data/vr/a.mp4", &maps), "/mnt/media/vr/a.mp4");
        assert_eq!(to_plex("/data", &maps), "/mnt/media");
    }

    #[test]
    fn a_prefix_matches_only_whole_components() {
        let maps = [map("/data", "/mnt")];
        assert_eq!(to_plex("/database/a.mp4", &maps), "/database/a.mp4");
        assert_eq!(to_plex("/other/a.mp4", &maps), "/other/a.mp4");
    }

    #[test]
    fn a_windows_plex_gets_backslashes() {
        let maps = [map("/data", "D:\\Media\\")];
        assert_eq!(to_plex("/data/x/é.mp4", &maps), "D:\\Media\\x\\é.mp4");
        assert_eq!(to_plex("/data/a.mp4", &[map("/data", "E:")]), "E:\\a.mp4");
        let back = [map("D:\\Media", "/mnt")];
        assert_eq!(to_plex("D:\\Media\\x\\a.mp4", &back), "/mnt/x/a.mp4");
    }

    #[test]
    fn the_root_maps_every_absolute_path() {
        assert_eq!(to_plex("/a/b.mp4", &[map("/", "/host")]), "/host/a/b.mp4");
        assert!(map("/", "/x").check().is_ok());
        assert!(map("", "/x").check().is_err());
        assert!(map("/x", "").check().is_err());
    }

    #[test]
    fn file_names_come_from_either_separator() {
        assert_eq!(file_name("/a/b/c.mp4"), "c.mp4");
        assert_eq!(file_name("D:\\a\\c.mp4"), "c.mp4");
        assert_eq!(file_name("c.mp4"), "c.mp4");
    }
}
