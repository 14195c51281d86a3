//! The read side at scale: `plan` reads the account with paginated
//! `GetAccountAuthorizationDetails` (moto is patched to paginate as AWS
//! does, see `tests/moto_ext/patches/gaad_pagination.py`), so a no-op plan
//! costs one call per 1,000 entities plus a constant, however many there
//! are.

mod common;

use futures_util::StreamExt;

use common::{TestEnv, block_on};

const CONFIG: &str = r#"
[settings]
path = "/provision/"

[[developers]]
name = "alice"
email = "alice@example.com"

[[clients]]
name = "acme"
buckets = ["acme-assets"]
developers = ["alice"]
"#;

#[test]
fn a_no_op_plan_reads_every_page_and_no_more() {
    let env = TestEnv::with_files(&[("clients.toml", CONFIG)]);
    let config = env.file("clients.toml");
    let proxy = &env.proxy;

    // Users made by hand first, so that the managed ones come after them,
    // on the second page.
    let unmanaged = 1_100;
    block_on(async {
        let iam = env.iam();
        let created: Vec<_> = futures_util::stream::iter(0..unmanaged)
            .map(|i| {
                let iam = iam.clone();
                async move {
                    iam.create_user()
                        .user_name(format!("hand{i:04}"))
                        .send()
                        .await
                }
            })
            .buffer_unordered(16)
            .collect()
            .await;
        assert!(
            created.iter().all(Result::is_ok),
            "creating users by hand failed"
        );
    });

    env.apply(&config).success();

    proxy.clear();
    let out = env
        .cmd()
        .args(["plan", "--detailed-exitcode"])
        .arg(&config)
        .output()
        .unwrap();
    // An empty plan proves the second page was read: the managed users and
    // group are only there.
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // 1,100 + 2 users and 1 group: two pages of at most 1,000.
    let entities: usize = unmanaged + 3;
    assert_eq!(
        proxy.count("GetAccountAuthorizationDetails"),
        entities.div_ceil(1000)
    );
    let calls = proxy.calls();
    assert!(
        calls.len() <= entities.div_ceil(1000) + 3,
        "a no-op plan must read at most ceil(entities / 1000) + 3 calls: {calls:?}"
    );
    assert_eq!(proxy.writes(), Vec::<String>::new());
}
