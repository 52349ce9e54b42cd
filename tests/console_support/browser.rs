//! The real Debian Chromium through WebDriver: one `chromedriver` per test
//! on a free loopback port (stopped by its PID when dropped), headless
//! browsers opened on the console link, bounded waits on what a page
//! shows, and screenshots that must not be blank.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use thirtyfour::prelude::*;

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";

pub struct Chromedriver {
    child: Child,
    pub url: String,
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    gameday::demo::port::free_loopback_port().expect("a free loopback port")
}

impl Chromedriver {
    /// Starts chromedriver and waits (bounded) until `/status` says ready.
    pub async fn start() -> Chromedriver {
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (apt-get install chromium-driver)");
        let url = format!("http://127.0.0.1:{port}");
        let driver = Chromedriver { child, url };
        let deadline = Instant::now() + Duration::from_secs(20);
        let http = reqwest::Client::new();
        loop {
            let ready = http.get(format!("{}/status", driver.url)).send().await;
            if let Ok(r) = ready
                && let Ok(v) = r.json::<serde_json::Value>().await
                && v["value"]["ready"] == true
            {
                return driver;
            }
            assert!(Instant::now() < deadline, "chromedriver never became ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A headless Chromium window of this size.
    pub async fn browser(&self, width: u32, height: u32) -> WebDriver {
        let mut caps = DesiredCapabilities::chrome();
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            &format!("--window-size={width},{height}"),
        ] {
            caps.add_arg(arg).unwrap();
        }
        caps.set_binary(CHROMIUM).unwrap();
        let driver = WebDriver::new(&self.url, caps)
            .await
            .expect("a browser session");
        driver.set_window_rect(0, 0, width, height).await.unwrap();
        driver
    }
}

/// Opens the console link and, for a participant, gives the display name.
pub async fn open(browser: &WebDriver, api_url: &str, token: &str, name: Option<&str>) {
    browser
        .goto(format!("{api_url}/#token={token}"))
        .await
        .unwrap();
    if let Some(name) = name {
        let input = browser.find(By::Id("name-input")).await.unwrap();
        wait(
            browser,
            "the name form",
            Duration::from_secs(5),
            async || input.is_displayed().await.unwrap_or(false),
        )
        .await;
        input.send_keys(name).await.unwrap();
        input.send_keys(Key::Enter).await.unwrap();
    }
    wait_text(browser, "#status-line", "live", Duration::from_secs(5)).await;
}

/// Polls `f` until it holds; panics after `within`. Returns how long it took.
pub async fn wait(
    _browser: &WebDriver,
    what: &str,
    within: Duration,
    mut f: impl AsyncFnMut() -> bool,
) -> Duration {
    let start = Instant::now();
    loop {
        if f().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The text of the first element matching `css` ("" when there is none).
pub async fn text(browser: &WebDriver, css: &str) -> String {
    match browser.find(By::Css(css)).await {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Waits until the element's text contains `needle`; how long that took.
pub async fn wait_text(browser: &WebDriver, css: &str, needle: &str, within: Duration) -> Duration {
    let what = format!("`{needle}` in {css}");
    wait(browser, &what, within, async || {
        text(browser, css).await.contains(needle)
    })
    .await
}

/// Submits a form by clicking its submit button, then waits for its
/// result line and returns it (`recorded`, or the API's error text).
pub async fn submit(browser: &WebDriver, form: &str) -> String {
    let button = browser
        .find(By::Css(format!("#{form} button[type=submit]")))
        .await
        .unwrap();
    button.click().await.unwrap();
    // textContent, not the visible text: a resolve ends the drill, and the
    // page then hides the forms.
    let read = format!("return document.querySelector('#{form} output').textContent");
    let answer = async || -> String {
        let r = browser.execute(&read, vec![]).await.unwrap();
        r.convert::<String>().unwrap_or_default()
    };
    wait(
        browser,
        &format!("{form}'s answer"),
        // A round trip through Chromium, the responder API and the journal's
        // fsync: well under a second on a quiet machine, but CI and a loaded
        // 2-core box have shown 5 s go by.
        Duration::from_secs(20),
        async || !answer().await.is_empty(),
    )
    .await;
    let answer = answer().await;
    // Cleared, so the next submit waits for its own answer.
    browser
        .execute(
            &format!("document.querySelector('#{form} output').textContent = ''"),
            vec![],
        )
        .await
        .unwrap();
    answer
}

/// Where test artifacts go: target/console-screenshots/.
pub fn artifacts() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Saves a screenshot and checks it is not blank: a page with content has
/// many colours and dark text on a light background, not one flat colour.
pub async fn screenshot(browser: &WebDriver, name: &str) -> PathBuf {
    let png = browser.screenshot_as_png().await.unwrap();
    let path = artifacts().join(name);
    std::fs::write(&path, &png).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(&png));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = info.color_type.samples();
    let pixels = &buf[..info.buffer_size()];
    let mut colours = std::collections::HashSet::new();
    let mut dark = 0usize;
    for px in pixels.chunks(step) {
        colours.insert((px[0], px[1], px[2]));
        if (px[0] as u32 + px[1] as u32 + px[2] as u32) < 200 {
            dark += 1;
        }
    }
    assert!(
        colours.len() > 50,
        "{name}: {} colours, a blank page?",
        colours.len()
    );
    assert!(dark > 1000, "{name}: only {dark} dark pixels, no text?");
    path
}

/// Whether a JavaScript dialog (alert, confirm) is open.
pub async fn dialog_open(browser: &WebDriver) -> bool {
    browser.get_alert_text().await.is_ok()
}
