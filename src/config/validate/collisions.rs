//! What clients reach across files and clients: no bucket, prefix or
//! CloudFront distribution of one client reaches another's (SPEC,
//! Guarantee 1).

use super::*;

impl<'a> Validator<'a> {
    /// SPEC Guarantee 1: no client's buckets or prefixes may reach another
    /// client's. Within one client, overlaps are only redundant.
    // Long because it compares every pair of client resources (buckets,
    // prefixes, distributions) in one pass, one block per kind of overlap.
    pub(super) fn isolation(&mut self, clients: &[ClientDraft<'a>]) {
        struct Entry<'e> {
            name: &'e str,
            kind: S3Kind,
            client: &'e str,
            loc: Loc,
        }
        impl Entry<'_> {
            fn scope(&self) -> Scope<'_> {
                match self.kind {
                    S3Kind::Bucket => Scope::Bucket(self.name),
                    S3Kind::Prefix => Scope::Prefix(self.name),
                }
            }
        }
        let mut entries: Vec<Entry<'_>> = Vec::new();
        for client in clients {
            let lists = [
                (S3Kind::Bucket, &client.buckets),
                (S3Kind::Prefix, &client.prefixes),
            ];
            for (kind, list) in lists {
                for item in list {
                    entries.push(Entry {
                        name: item.get_ref(),
                        kind,
                        client: client.name.get_ref(),
                        loc: Loc::of(client.file, *item),
                    });
                }
            }
        }
        // Sorted by name, everything a prefix matches follows it directly,
        // so each prefix scans only its own matches instead of every entry.
        entries.sort_by(|a, b| a.name.cmp(b.name).then_with(|| a.loc.cmp(&b.loc)));
        let mut reported: HashSet<(usize, usize)> = HashSet::new();
        for (i, a) in entries.iter().enumerate() {
            let start = entries.partition_point(|e| e.name < a.name);
            for (j, b) in entries.iter().enumerate().skip(start) {
                if !b.name.starts_with(a.name) {
                    break;
                }
                let matches = a.scope().reaches(b.scope());
                if i == j || !matches || !reported.insert((i.min(j), i.max(j))) {
                    continue;
                }
                // `later` gets the primary label: usually the line just added.
                let (earlier, later) = if a.loc <= b.loc { (a, b) } else { (b, a) };
                if a.client == b.client {
                    if a.name == b.name && a.kind == b.kind {
                        // Reported as "listed twice" by the client's own checks.
                        continue;
                    }
                    let (wide, narrow) = if a.kind == S3Kind::Prefix
                        && (b.name != a.name || b.kind == S3Kind::Bucket)
                    {
                        (a, b)
                    } else {
                        (b, a)
                    };
                    let what = |e: &Entry<'_>| match e.kind {
                        S3Kind::Bucket => "bucket",
                        S3Kind::Prefix => "bucket prefix",
                    };
                    self.push(
                        Diagnostic::warning(format!(
                            "{} `{}` is already covered by bucket prefix `{}` of the same client",
                            what(narrow),
                            narrow.name,
                            wide.name
                        ))
                        .with_primary(narrow.loc.file, narrow.loc.span.clone(), "redundant")
                        .with_secondary(
                            wide.loc.file,
                            wide.loc.span.clone(),
                            "covered by this prefix",
                        )
                        .with_help(format!(
                            "remove `{}`; it grants nothing the prefix does not",
                            narrow.name
                        )),
                    );
                    continue;
                }
                let label = |e: &Entry<'_>| match e.kind {
                    S3Kind::Bucket => format!("bucket of client `{}`", e.client),
                    S3Kind::Prefix => format!("prefix of client `{}`", e.client),
                };
                // Equal names sort by position, so a bucket may come before
                // the prefix that matches it: put the prefix first.
                let (a, b) = if a.kind == S3Kind::Bucket && b.kind == S3Kind::Prefix {
                    (b, a)
                } else {
                    (a, b)
                };
                let mut d = match (a.kind, b.kind) {
                    (S3Kind::Bucket, _) => Diagnostic::error(format!(
                        "bucket `{}` is listed by two clients, `{}` and `{}`",
                        a.name, earlier.client, later.client
                    ))
                    .with_note("a bucket belongs to exactly one client")
                    .with_help(format!("remove `{}` from one of the two clients", a.name)),
                    (S3Kind::Prefix, S3Kind::Bucket) => Diagnostic::error(format!(
                        "bucket prefix `{}` of client `{}` matches bucket `{}` of client `{}`",
                        a.name, a.client, b.name, b.client
                    ))
                    .with_note(format!(
                        "the group `client-{}` would be allowed `arn:aws:s3:::{}*`, which \
                         includes `{}`; a client must never reach another client's buckets",
                        a.client, a.name, b.name
                    ))
                    .with_help(prefix_help(a.name, a.client, b.name)),
                    (S3Kind::Prefix, S3Kind::Prefix) if a.name == b.name => {
                        Diagnostic::error(format!(
                            "bucket prefix `{}` is listed by two clients, `{}` and `{}`",
                            a.name, earlier.client, later.client
                        ))
                        .with_note("both clients would reach every bucket that starts with it")
                        .with_help(
                            "give each client its own prefix, where neither starts with the other",
                        )
                    }
                    (S3Kind::Prefix, S3Kind::Prefix) => Diagnostic::error(format!(
                        "bucket prefixes `{}` of client `{}` and `{}` of client `{}` overlap",
                        a.name, a.client, b.name, b.client
                    ))
                    .with_note(format!(
                        "every bucket whose name starts with `{}` also starts with `{}`, so both \
                         clients would reach it",
                        b.name, a.name
                    ))
                    .with_help(
                        "choose prefixes where neither starts with the other, or list the \
                         buckets by name",
                    ),
                };
                d = d
                    .with_primary(later.loc.file, later.loc.span.clone(), label(later))
                    .with_secondary(earlier.loc.file, earlier.loc.span.clone(), label(earlier));
                self.push(d);
            }
        }
    }

    /// A CloudFront distribution belongs to one client, as a bucket does:
    /// `verify` counts a client reaching another's distribution as a leak,
    /// so validation refuses what would be one (SPEC, Guarantee 10).
    pub(super) fn distributions_across_clients(&mut self, clients: &[ClientDraft<'a>]) {
        let mut first: BTreeMap<&str, (&str, Loc)> = BTreeMap::new();
        for client in clients {
            for id in &client.distributions {
                let loc = Loc::of(client.file, *id);
                let Some((other, other_loc)) = first.get(id.get_ref().as_str()) else {
                    first.insert(id.get_ref(), (client.name.get_ref(), loc));
                    continue;
                };
                let (this, id) = (client.name.get_ref(), id.get_ref());
                let message = format!(
                    "CloudFront distribution `{id}` is listed by two clients, `{other}` and `{this}`"
                );
                let other_loc = other_loc.clone();
                let other_label = format!("distribution of client `{other}`");
                self.push(
                    Diagnostic::error(message)
                        .with_primary(
                            loc.file,
                            loc.span,
                            format!("distribution of client `{this}`"),
                        )
                        .with_secondary(other_loc.file, other_loc.span, other_label)
                        .with_note(
                            "a distribution belongs to exactly one client, as a bucket does: each \
                             client could invalidate the other's cache, and `provision verify` \
                             reports it as a leak",
                        )
                        .with_help(format!("remove `{id}` from one of the two clients")),
                );
            }
        }
    }
}

/// How to fix a prefix that reaches another client's bucket.
fn prefix_help(prefix: &str, client: &str, bucket: &str) -> String {
    let dashed = format!("{prefix}-");
    if !prefix.ends_with(['-', '.']) && !bucket.starts_with(&dashed) {
        format!(
            "end the prefix with a separator (`{dashed}`) so it matches only `{client}`'s \
             buckets, or list them by name"
        )
    } else {
        format!("use a longer prefix that matches only `{client}`'s buckets, or list them by name")
    }
}
