//! PDF of an assessment report: the report's own printable HTML page (the same page as
//! `ovcf assess --format html`, with its print stylesheet) printed by a headless Chromium.
//!
//! Why a browser and not a PDF crate: Chinese text needs a CJK font with shaping and line
//! breaking that matches what the clinician saw on screen; a browser already does all of that
//! with the system's Noto CJK fonts, and the PDF is then the print view, not a second layout to
//! keep in step. The cost is a runtime dependency: without a browser the pages offer no PDF link
//! (the route answers 503) and the Print button (print stylesheet) still works. `--pdf-browser` or
//! `OVCF_PDF_BROWSER` names the executable; otherwise `chromium`, `chromium-browser`,
//! `google-chrome` are looked for on `PATH`.
//!
//! Patient data: the page is written to a fresh private directory (mode 0700), printed, and the
//! directory removed, whatever the outcome. At most [`MAX_CONCURRENT`] prints run at once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::Semaphore;

/// Prints running at once (each is a browser process).
pub const MAX_CONCURRENT: usize = 2;
/// Time allowed for one print.
pub const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("no headless browser found for PDF output (set --pdf-browser or OVCF_PDF_BROWSER)")]
    NoBrowser,
    #[error("the PDF printer failed: {0}")]
    Failed(String),
    #[error("the PDF printer took longer than {0:?}")]
    Timeout(Duration),
}

/// Finds and runs the browser.
pub struct PdfRenderer {
    browser: Option<PathBuf>,
    permits: Semaphore,
}

impl Default for PdfRenderer {
    fn default() -> PdfRenderer {
        PdfRenderer::new(None)
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The browser to use: the given one, else `OVCF_PDF_BROWSER`, else the first found on `PATH`.
pub fn find_browser(given: Option<PathBuf>) -> Option<PathBuf> {
    given
        .or_else(|| std::env::var_os("OVCF_PDF_BROWSER").map(PathBuf::from))
        .filter(|p| p.is_file())
        .or_else(|| {
            [
                "chromium",
                "chromium-browser",
                "google-chrome",
                "google-chrome-stable",
            ]
            .iter()
            .find_map(|n| on_path(n))
        })
}

/// Whether this process runs as root (Chromium's sandbox refuses root; it then needs
/// `--no-sandbox`).
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

struct TempDir(PathBuf);

impl TempDir {
    fn create() -> std::io::Result<TempDir> {
        let mut bytes = [0u8; 12];
        getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
        let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let dir = std::env::temp_dir().join(format!("ovcf-pdf-{name}"));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt as _;
            builder.mode(0o700);
        }
        builder.create(&dir)?;
        Ok(TempDir(dir))
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl PdfRenderer {
    pub fn new(browser: Option<PathBuf>) -> PdfRenderer {
        PdfRenderer {
            browser: find_browser(browser),
            permits: Semaphore::new(MAX_CONCURRENT),
        }
    }

    /// Whether a browser was found (the pages offer the PDF link only then).
    pub fn available(&self) -> bool {
        self.browser.is_some()
    }

    /// Prints a self-contained HTML page to PDF.
    pub async fn render(&self, html: &str) -> Result<Vec<u8>, PdfError> {
        let browser = self.browser.as_ref().ok_or(PdfError::NoBrowser)?;
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| PdfError::Failed(e.to_string()))?;
        let dir = TempDir::create().map_err(|e| PdfError::Failed(e.to_string()))?;
        let input = dir.path().join("report.html");
        let output = dir.path().join("report.pdf");
        tokio::fs::write(&input, html)
            .await
            .map_err(|e| PdfError::Failed(e.to_string()))?;
        let mut cmd = tokio::process::Command::new(browser);
        cmd.arg("--headless")
            .arg("--disable-gpu")
            .arg("--no-first-run")
            .arg("--disable-extensions")
            .arg("--disable-background-networking")
            .arg("--no-pdf-header-footer")
            .arg(format!(
                "--user-data-dir={}",
                dir.path().join("profile").display()
            ))
            .arg(format!("--print-to-pdf={}", output.display()));
        if running_as_root() {
            cmd.arg("--no-sandbox");
        }
        cmd.arg(format!("file://{}", input.display()))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        let status = tokio::time::timeout(TIMEOUT, cmd.status())
            .await
            .map_err(|_| PdfError::Timeout(TIMEOUT))?
            .map_err(|e| PdfError::Failed(e.to_string()))?;
        if !status.success() {
            return Err(PdfError::Failed(format!("browser exited with {status}")));
        }
        let bytes = tokio::fs::read(&output)
            .await
            .map_err(|e| PdfError::Failed(e.to_string()))?;
        if !bytes.starts_with(b"%PDF-") {
            return Err(PdfError::Failed("the output is not a PDF".into()));
        }
        Ok(bytes)
    }
}
