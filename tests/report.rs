//! `provision report` against the emulator: the evidence for one client
//! and the overview, in both formats, from an applied account; the same
//! account gives the same bytes; a hand-made leak is drawn in red; nothing
//! secret is printed; and the HTML, rendered by a real headless browser,
//! shows red where (and only where) isolation is broken.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{TestEnv, block_on, read_key, s3_client};

const CLIENTS: &str = r#"
[[developers]]
name = "alice"
email = "alice@example.com"

[[clients]]
name = "acme"
buckets = ["acme-assets", "acme-assets-staging"]
access = "read-write"
developers = ["alice"]

[[clients]]
name = "globex"
bucket_prefixes = ["globex-"]
access = "read-only"
developers = ["alice"]
"#;

/// The time a report here says it was read: tomorrow, at the same second
/// in every call of one test, so that no key ages past a limit between two
/// reports whatever the machine's clock says.
fn at_day(days_ahead: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    (now - now % 86_400 + days_ahead * 86_400).to_string()
}

/// Runs `provision report ARGS` with the fixed time: exit code, stdout.
fn report_at(env: &TestEnv, args: &[&str], epoch: &str) -> (i32, String) {
    let out = env
        .cmd()
        .arg("report")
        .arg(env.clients())
        .args(args)
        .env("SOURCE_DATE_EPOCH", epoch)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

/// `report_at` tomorrow, at midnight UTC.
fn report(env: &TestEnv, args: &[&str]) -> (i32, String) {
    report_at(env, args, &at_day(1))
}

/// Two clients as applied, sharing alice.
fn applied() -> TestEnv {
    let env = TestEnv::with_files(&[("all.toml", CLIENTS)]);
    env.apply(&env.clients()).success();
    env
}

/// By hand, a policy on globex's group that reaches acme's bucket.
fn plant_leak(env: &TestEnv) {
    block_on(async {
        env.iam()
            .put_group_policy()
            .group_name("client-globex")
            .policy_name("quick-fix")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Sid":"Debug","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-assets/*"}]}"#,
            )
            .send()
            .await
            .unwrap();
    });
}

#[test]
fn the_client_report_names_every_principal_why_and_its_key_in_part() {
    let env = applied();
    let (id, secret) = read_key(&env.creds(), "acme-app");
    env.proxy.clear();
    let (code, md) = report(&env, &["--client", "acme"]);
    assert_eq!(code, 0, "{md}");
    assert!(
        md.starts_with("# Access report for client `acme`\n"),
        "{md}"
    );
    assert!(md.contains("T00:00:00Z.\n"), "{md}");
    assert!(md.contains("> **Isolation holds.** 1 principal(s) of other clients were checked against the 2 resource(s) of `acme` (2 pairs)"), "{md}");
    assert!(
        md.contains("### `acme-app`") && md.contains("### `alice`"),
        "{md}"
    );
    assert!(
        md.contains(
            "inline policy `provision-s3` of group `client-acme`, statement `#2` (`S3Objects`)"
        ),
        "{md}"
    );
    // The key is named by its first and last four characters only.
    let hint = format!("`{}…{}` active, created ", &id[..4], &id[id.len() - 4..]);
    assert!(md.contains(&hint), "{hint} not in\n{md}");
    // Its credential report slot was found by its creation time: a key
    // just made reads as never used, not as of unknown use.
    let line = md.lines().find(|l| l.contains(&hint)).unwrap();
    assert!(line.ends_with(", never used"), "{line}");
    let (_, html) = report(&env, &["--client", "acme", "--format", "html"]);
    for text in [&md, &html] {
        assert!(!text.contains(&id), "the whole key id is printed");
        assert!(!text.contains(&secret), "the secret is printed");
    }
    // A report only reads.
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
}

#[test]
fn the_same_account_gives_the_same_report_but_for_the_read_time() {
    let env = applied();
    for format in ["markdown", "html"] {
        for client in [&["--client", "acme"][..], &[]] {
            let args: Vec<&str> = client.iter().copied().chain(["--format", format]).collect();
            let (_, first) = report(&env, &args);
            let (_, again) = report(&env, &args);
            assert_eq!(first, again, "{format} {client:?}");
            // A month later, only the line with the read time differs.
            let (_, later) = report_at(&env, &args, &at_day(2));
            let changed: Vec<(&str, &str)> = first
                .lines()
                .zip(later.lines())
                .filter(|(a, b)| a != b)
                .collect();
            assert_eq!(changed.len(), 1, "{format} {client:?}: {changed:#?}");
            assert!(
                changed[0].1.contains("Read from AWS account"),
                "{changed:?}"
            );
        }
    }
}

#[test]
fn a_hand_made_grant_on_another_clients_group_is_a_leak_in_every_form() {
    let env = applied();
    let (code, md) = report(&env, &[]);
    assert_eq!(code, 0, "{md}");
    assert!(md.contains("| `globex` | · | ✓ 2 |"), "{md}");
    plant_leak(&env);
    let (code, md) = report(&env, &[]);
    assert_eq!(code, 1, "a leak fails the report, as it fails verify");
    assert!(md.contains("| `globex` | **LEAK 1** | ✓ 2 |"), "{md}");
    let (_, html) = report(&env, &["--format", "html"]);
    assert_eq!(html.matches("<td class=\"leak\"").count(), 1, "{html}");
    let (code, client) = report(&env, &["--client", "acme"]);
    assert_eq!(code, 1);
    assert!(client.contains("### LEAK: `globex-app`"), "{client}");
    assert!(
        client.contains("inline policy `quick-fix` of group `client-globex`, statement `#1` (`Debug`), allows `s3:GetObject` on `arn:aws:s3:::acme-assets/*`"),
        "{client}"
    );
}

/// The resource side, end to end: acme's bucket exists and, by hand, its
/// bucket policy lets `globex-app` read it (no identity policy changes, so
/// the IAM side alone still holds). The report reads each bucket as
/// `verify` does (four reads, no more), fails, names the statement as the
/// reason globex-app reaches the bucket, and draws the overview's cell
/// (globex -> acme) as a leak.
#[test]
fn a_hand_written_bucket_policy_letting_another_client_in_fails_the_report_and_names_it() {
    let env = applied();
    let admin = s3_client(
        &env.moto.url(),
        common::TEST_ACCESS_KEY_ID,
        common::TEST_SECRET_ACCESS_KEY,
    );
    block_on(async {
        admin
            .create_bucket()
            .bucket("acme-assets")
            .send()
            .await
            .unwrap();
    });
    env.proxy.clear();
    let (code, md) = report(&env, &["--client", "acme"]);
    assert_eq!(code, 0, "{md}");
    assert!(
        md.contains("none reaches them. No bucket policy or ACL of its 1 bucket(s) lets in another client, another account or everyone.\n"),
        "{md}"
    );
    assert_eq!(
        env.proxy.count("GET /acme-assets/"),
        4,
        "{:?}",
        env.proxy.calls()
    );

    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "LetGlobexRead",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:user/provision/globex-app"},
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::acme-assets", "arn:aws:s3:::acme-assets/*"]
        }]
    });
    block_on(
        admin
            .put_bucket_policy()
            .bucket("acme-assets")
            .policy(policy.to_string())
            .send(),
    )
    .unwrap();
    let (code, md) = report(&env, &["--client", "acme"]);
    assert_eq!(code, 1, "a bucket policy leak fails the report:\n{md}");
    assert!(
        md.contains("> **LEAK: isolation is broken.** 1 principal(s) of other clients reach `acme`: `globex-app`."),
        "{md}"
    );
    assert!(
        md.contains("### LEAK: `globex-app`\n") && md.contains("- **bucket `acme-assets`:** list, get\n  - bucket policy of `acme-assets`, statement `#1` (`LetGlobexRead`), grants `s3:GetObject`, `s3:ListBucket` to `arn:aws:iam::123456789012:user/provision/globex-app`\n"),
        "{md}"
    );
    let (code, overview) = report(&env, &[]);
    assert_eq!(code, 1, "{overview}");
    assert!(
        overview.contains("| `globex` | **LEAK 1** | ✓ 2 |"),
        "{overview}"
    );
    let (_, html) = report(&env, &["--format", "html"]);
    assert_eq!(html.matches("<td class=\"leak\"").count(), 1, "{html}");
    // A report only reads.
    assert_eq!(env.proxy.writes(), Vec::<String>::new());
}

#[test]
fn an_unknown_client_or_a_bad_time_is_refused_before_any_aws_call() {
    let env = TestEnv::with_files(&[("all.toml", CLIENTS)]);
    let out = env
        .cmd()
        .args(["report", "--client", "acmee"])
        .arg(env.clients())
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains(
            "no client `acmee` in the files given; `--client` takes one of: `acme`, `globex`"
        ),
        "{err}"
    );
    let out = env
        .cmd()
        .arg("report")
        .arg(env.clients())
        .env("SOURCE_DATE_EPOCH", "last tuesday")
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains("`SOURCE_DATE_EPOCH` must be a number of seconds"),
        "{err}"
    );
    assert_eq!(env.proxy.calls(), Vec::<String>::new());
}

/// `chromium` on PATH, if any.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file())
}

/// Renders `html` with headless Chromium to a PNG of 1200x1600 and returns
/// its bytes. Only a local file is loaded, with no proxy, and the page
/// itself loads nothing.
fn screenshot(browser: &Path, dir: &Path, name: &str, html: &str) -> Vec<u8> {
    screenshot_sized(browser, dir, name, html, "1200,1600")
}

/// [`screenshot`] at `size` (`WIDTH,HEIGHT`).
fn screenshot_sized(browser: &Path, dir: &Path, name: &str, html: &str, size: &str) -> Vec<u8> {
    let page = dir.join(format!("{name}.html"));
    let png = dir.join(format!("{name}.png"));
    fs::write(&page, html).unwrap();
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-proxy-server",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--window-size={size}"))
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("chromium did not render `{name}` within two minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    fs::read(&png).unwrap_or_else(|e| panic!("chromium wrote no screenshot of `{name}`: {e}"))
}

/// The screenshot's pixels, row by row, as RGB(A) samples, and the number
/// of samples per pixel.
fn pixels(png_bytes: &[u8]) -> (Vec<Vec<u8>>, usize) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert!(channels >= 3, "a colour screenshot: {:?}", info.color_type);
    assert!(info.width >= 1000 && info.height >= 1000, "{info:?}");
    let rows = buf[..info.buffer_size()]
        .chunks(info.line_size)
        .map(<[u8]>::to_vec)
        .collect();
    (rows, channels)
}

/// The leak red (`#d00`, with some room for smoothing).
fn is_red(px: &[u8]) -> bool {
    px[0] >= 190 && px[1] <= 50 && px[2] <= 50
}

/// Every red pixel of the screenshot.
fn red_pixels(png_bytes: &[u8]) -> usize {
    let (rows, channels) = pixels(png_bytes);
    rows.iter()
        .flat_map(|row| row.chunks(channels))
        .filter(|px| is_red(px))
        .count()
}

/// True when the screenshot holds a red block shaped like a matrix cell:
/// at least 30 rows in a row, each with 50 to 150 red pixels (the cell's
/// white digit takes a few out of some). The banner of a broken verdict is
/// far wider, and a `LEAK` badge far lower, so only the picture's leak cell
/// is such a block.
fn has_red_cell(png_bytes: &[u8]) -> bool {
    let (rows, channels) = pixels(png_bytes);
    let mut tall = 0;
    for row in &rows {
        let red = row.chunks(channels).filter(|px| is_red(px)).count();
        tall = if (50..=150).contains(&red) {
            tall + 1
        } else {
            0
        };
        if tall >= 30 {
            return true;
        }
    }
    false
}

#[test]
fn the_rendered_overview_is_red_exactly_when_isolation_is_broken() {
    let Some(browser) = chromium() else {
        eprintln!(
            "SKIPPED: the rendered-report check needs `chromium` on PATH (scripts/test installs it with apt-get where it can)"
        );
        return;
    };
    let env = applied();
    let dir = env.dir.path().join("render");
    fs::create_dir(&dir).unwrap();
    let (_, isolated) = report(&env, &["--format", "html"]);
    let clean = screenshot(&browser, &dir, "isolated", &isolated);
    assert!(
        clean.len() > 10_000,
        "a near-empty page: {} bytes",
        clean.len()
    );
    assert_eq!(
        red_pixels(&clean),
        0,
        "red in the page of an isolated account"
    );
    let (_, client) = report(&env, &["--client", "acme", "--format", "html"]);
    let page = screenshot(&browser, &dir, "client", &client);
    assert!(page.len() > 10_000 && red_pixels(&page) == 0);

    plant_leak(&env);
    let (_, leaky) = report(&env, &["--format", "html"]);
    let shot = screenshot(&browser, &dir, "leak", &leaky);
    assert!(has_red_cell(&shot), "no red cell in the picture of a leak");
    assert!(!has_red_cell(&clean));
    let (_, client) = report(&env, &["--client", "acme", "--format", "html"]);
    assert!(red_pixels(&screenshot(&browser, &dir, "client-leak", &client)) > 100);
    // The picture in the README is this page: `PROVISION_REPORT_PICTURE`
    // names where to keep a copy.
    if let Some(out) = std::env::var_os("PROVISION_REPORT_PICTURE") {
        fs::write(
            out,
            screenshot_sized(&browser, &dir, "picture", &leaky, "1000,620"),
        )
        .unwrap();
    }
}
