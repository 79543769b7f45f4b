//! The i18n catalogue (`knowledge/i18n.toml`), compiled into the binary and parsed once.
//!
//! Every string the renderer prints that is not already bilingual in the report goes through
//! [`t`] (a fixed key) or [`word_open`] (a key built from an open set of codes, e.g. risk
//! factors the engine may add). A missing fixed key never panics: [`t`] returns the key itself and
//! remembers it, so a test that renders many reports can fail on any key the catalogue lacks.

use std::collections::{BTreeSet, HashMap};
use std::sync::{LazyLock, Mutex};

use serde::Serialize;

use crate::Lang;

/// The catalogue source text.
pub(crate) const CATALOGUE_TOML: &str = include_str!("../../../knowledge/i18n.toml");

/// One entry: the Chinese and English strings.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub zh: String,
    pub en: String,
}

/// The parsed catalogue, or the problems found while parsing it.
#[derive(Debug, Default)]
pub(crate) struct Catalogue {
    pub entries: HashMap<String, Entry>,
    /// Structural problems (parse error, entries lacking a language, stray values).
    pub problems: Vec<String>,
}

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| parse_catalogue(CATALOGUE_TOML));

/// Keys asked for through [`t`] that the catalogue lacks, interned so `t` can return them.
static MISSING: LazyLock<Mutex<BTreeSet<&'static str>>> =
    LazyLock::new(|| Mutex::new(BTreeSet::new()));

/// Parses catalogue text: nested tables whose leaves are `{ zh = "…", en = "…" }`.
pub(crate) fn parse_catalogue(text: &str) -> Catalogue {
    let mut cat = Catalogue::default();
    match toml::from_str::<toml::Table>(text) {
        Ok(table) => walk(&table, "", &mut cat),
        Err(e) => cat.problems.push(format!("i18n.toml does not parse: {e}")),
    }
    cat
}

fn walk(table: &toml::Table, prefix: &str, cat: &mut Catalogue) {
    let is_entry = table.contains_key("zh") || table.contains_key("en");
    if is_entry {
        let get = |lang: &str| table.get(lang).and_then(|v| v.as_str()).map(str::to_owned);
        match (get("zh"), get("en")) {
            (Some(zh), Some(en)) if !zh.trim().is_empty() && !en.trim().is_empty() => {
                if table.len() != 2 {
                    cat.problems
                        .push(format!("{prefix}: an entry holds only `zh` and `en`"));
                }
                cat.entries.insert(prefix.to_owned(), Entry { zh, en });
            }
            _ => cat
                .problems
                .push(format!("{prefix}: needs non-empty string `zh` and `en`")),
        }
        return;
    }
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(sub) => walk(sub, &key, cat),
            _ => cat
                .problems
                .push(format!("{key}: expected a table {{ zh, en }}")),
        }
    }
}

#[cfg(test)]
pub(crate) fn catalogue() -> &'static Catalogue {
    &CATALOGUE
}

/// The catalogue string for `key`, or `None` when the catalogue lacks it.
pub(crate) fn lookup(lang: Lang, key: &str) -> Option<&'static str> {
    let cat: &'static Catalogue = &CATALOGUE;
    cat.entries.get(key).map(|e| match lang {
        Lang::Zh => e.zh.as_str(),
        Lang::En => e.en.as_str(),
    })
}

/// Catalogue lookup. A key the catalogue lacks is returned as itself (never a panic) and
/// recorded for [`missing_keys`].
pub fn t(lang: Lang, key: &str) -> &'static str {
    if let Some(s) = lookup(lang, key) {
        return s;
    }
    let mut missing = MISSING.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(k) = missing.get(key) {
        return k;
    }
    // Interned once per distinct missing key: keys come from the renderer's code and the
    // contract's closed enumerations, so the set is small and bounded.
    let k: &'static str = Box::leak(key.to_owned().into_boxed_str());
    missing.insert(k);
    k
}

/// Every key asked for through [`t`] that the catalogue lacked, since the process started.
#[cfg(test)]
pub(crate) fn missing_keys() -> Vec<String> {
    let missing = MISSING.lock().unwrap_or_else(|p| p.into_inner());
    missing.iter().map(|k| (*k).to_owned()).collect()
}

/// `t` with `{name}` placeholders filled.
pub(crate) fn tf(lang: Lang, key: &str, params: &[(&str, &str)]) -> String {
    let mut out = t(lang, key).to_owned();
    for (name, value) in params {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// The contract's snake_case code of an enumeration value (its serde name).
pub(crate) fn code<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => "?".to_owned(),
    }
}

/// The word for a value of a closed enumeration: key `{prefix}.{code}`, which must exist.
pub(crate) fn word<T: Serialize>(lang: Lang, prefix: &str, value: &T) -> &'static str {
    t(lang, &format!("{prefix}.{}", code(value)))
}

/// The word for a code of an open set (factor codes the engine may extend): the code itself
/// when the catalogue lacks `{prefix}.{code}`.
pub(crate) fn word_open(lang: Lang, prefix: &str, code: &str) -> String {
    lookup(lang, &format!("{prefix}.{code}")).map_or_else(|| code.to_owned(), str::to_owned)
}
