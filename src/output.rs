//! The write stage: the whole site is written into a fresh directory beside the destination
//! and swapped in only when everything succeeded.
//!
//! A failed build therefore never touches the previous site, and a successful one leaves no
//! stale file behind (pages of deleted chapters disappear with the old directory). The swap is
//! two renames within one parent directory, so it does not copy data; between the two renames
//! the destination is briefly absent, which a static server sees as a 404 for a few
//! microseconds at most.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The files of a site, by `/`-separated path relative to its root. A `BTreeMap` keeps the
/// write order, and so every observable effect, deterministic.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SiteFiles {
    pub files: BTreeMap<String, Vec<u8>>,
}

impl SiteFiles {
    pub fn insert(&mut self, path: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.files.insert(path.into(), bytes.into());
    }

    pub fn contains(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }
}

/// Writes `site` to `dest` atomically (see the module documentation).
pub fn write_site(site: &SiteFiles, dest: &Path) -> Result<()> {
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).with_context(|| {
        format!(
            "creating the output's parent directory {}",
            parent.display()
        )
    })?;
    if dest.exists() && !dest.is_dir() {
        bail!(
            "the output path {} exists and is not a directory; remove it or choose another --dest-dir",
            dest.display()
        );
    }
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "book".into());
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{name}.new-"))
        .tempdir_in(&parent)
        .with_context(|| format!("creating a staging directory in {}", parent.display()))?;
    for (rel, bytes) in &site.files {
        let path = staging.path().join(rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    swap_into_place(staging, dest, &parent, &name)
}

fn swap_into_place(
    staging: tempfile::TempDir,
    dest: &Path,
    parent: &Path,
    name: &str,
) -> Result<()> {
    if dest.exists() {
        let old = tempfile::Builder::new()
            .prefix(&format!(".{name}.old-"))
            .tempdir_in(parent)
            .with_context(|| {
                format!(
                    "creating a directory for the old site in {}",
                    parent.display()
                )
            })?;
        let old_site = old.path().join("site");
        fs::rename(dest, &old_site)
            .with_context(|| format!("moving the previous site {} aside", dest.display()))?;
        if let Err(e) = fs::rename(staging.path(), dest) {
            // Put the previous site back: a failed build must leave it untouched.
            let _ = fs::rename(&old_site, dest);
            return Err(e).with_context(|| format!("moving the new site into {}", dest.display()));
        }
        // Dropping `old` removes the previous site.
        drop(old);
    } else {
        fs::rename(staging.path(), dest)
            .with_context(|| format!("moving the new site into {}", dest.display()))?;
    }
    // The staging directory now lives at `dest`; make sure its guard does not delete it.
    let _ = staging.keep();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_whole_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("book");
        let mut a = SiteFiles::default();
        a.insert("index.html", "one");
        a.insert("old/stale.html", "stale");
        write_site(&a, &dest).unwrap();
        assert_eq!(fs::read_to_string(dest.join("index.html")).unwrap(), "one");

        let mut b = SiteFiles::default();
        b.insert("index.html", "two");
        write_site(&b, &dest).unwrap();
        assert_eq!(fs::read_to_string(dest.join("index.html")).unwrap(), "two");
        assert!(!dest.join("old").exists(), "stale files must disappear");
        let leftovers: Vec<_> = fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(
            leftovers.len(),
            1,
            "no staging or old directories are left behind"
        );
    }

    #[test]
    fn refuses_a_file_in_the_way() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("book");
        fs::write(&dest, "not a dir").unwrap();
        let err = write_site(&SiteFiles::default(), &dest).unwrap_err();
        assert!(err.to_string().contains("not a directory"));
        assert_eq!(fs::read_to_string(&dest).unwrap(), "not a dir");
    }
}
