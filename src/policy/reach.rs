//! Symbolic reach: whether a principal's policies can allow any action on
//! anything a client owns, decided on the policies' patterns themselves
//! rather than on sample requests.
//!
//! `verify` used to probe a bucket prefix through one made-up bucket
//! (`<prefix>example`), so a hand-written grant on `arn:aws:s3:::aaa-prod*`
//! passed for a client owning the prefix `aaa-`: the sample was not in the
//! grant, though every `aaa-prod...` bucket is the client's. Here a grant
//! reaches an owned resource when its pattern and the owned pattern have a
//! string in common, whichever strings those are.
//!
//! IAM patterns have two wildcards: `*` (any run of characters, `/`
//! included) and `?` (exactly one character). Resource ARNs compare
//! case-sensitively, actions case-insensitively. Two such patterns
//! intersect when some string matches both ([`overlap`]); one covers
//! another when every string the second matches, the first matches too
//! ([`Glob::covers`]).
//!
//! The answer errs towards reporting: an `Allow` counts whatever its
//! `Condition`, a `Deny` cancels a reach only when it has no `Condition`
//! and provably covers the whole of what is reached, and a policy variable
//! (`${aws:username}`) in a resource may stand for any text.
//!
//! Pure: no IO.

use std::collections::HashSet;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::policy::condition::{Applies, Known, applies};
use crate::policy::document::{statements, strings};

/// How many states [`overlap`] explores before it answers "they may
/// intersect". Real policies need a few hundred; the bound only keeps a
/// pathological pattern from stalling `verify`, and the answer it gives
/// then is the one that reports.
const STATE_LIMIT: usize = 1 << 20;

/// One element of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Token {
    /// A literal character.
    Char(char),
    /// `?`: exactly one character.
    One,
    /// `*`: any run of characters, the empty one included.
    Many,
}

/// An IAM wildcard pattern, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    /// The pattern as written, for messages.
    text: String,
    tokens: Vec<Token>,
    /// True when a policy variable was read as `*`: the pattern then stands
    /// for more than it matches, so it never counts as covering anything.
    widened: bool,
}

impl Glob {
    /// A resource pattern: case-sensitive; a policy variable such as
    /// `${aws:username}` may be any text, and `${*}`, `${?}`, `${$}` are the
    /// literal characters.
    pub fn resource(pattern: &str) -> Glob {
        let mut tokens = Vec::new();
        let mut widened = false;
        let mut rest = pattern;
        while let Some(c) = rest.chars().next() {
            if let Some(body) = rest.strip_prefix("${")
                && let Some(end) = body.find('}')
            {
                match &body[..end] {
                    "*" => tokens.push(Token::Char('*')),
                    "?" => tokens.push(Token::Char('?')),
                    "$" => tokens.push(Token::Char('$')),
                    _ => {
                        tokens.push(Token::Many);
                        widened = true;
                    }
                }
                rest = &body[end + 1..];
                continue;
            }
            tokens.push(token(c));
            rest = &rest[c.len_utf8()..];
        }
        Glob {
            text: pattern.to_owned(),
            tokens,
            widened,
        }
    }

    /// An action pattern: compared case-insensitively, so folded to lower
    /// case.
    pub fn action(pattern: &str) -> Glob {
        Glob {
            text: pattern.to_owned(),
            tokens: pattern
                .chars()
                .flat_map(char::to_lowercase)
                .map(token)
                .collect(),
            widened: false,
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when every string `inner` matches, `self` matches too.
    ///
    /// Decided by matching `inner`'s tokens against `self` as if they were
    /// characters: a `*` of `self` takes any run of them, its `?` one
    /// character or `?`, a literal only the same literal. That is sound (a
    /// `true` is always right) but not complete: `*?` covers `?*`, which
    /// this does not see. The callers only use `covers` to cancel or
    /// exclude a reach, so a missed cover reports more, never less.
    pub fn covers(&self, inner: &Glob) -> bool {
        if self.widened {
            return false;
        }
        let (outer, inner) = (&self.tokens, &inner.tokens);
        // fits[a][b]: outer[a..] covers inner[b..]; filled from the ends.
        let mut fits = vec![vec![false; inner.len() + 1]; outer.len() + 1];
        fits[outer.len()][inner.len()] = true;
        for a in (0..outer.len()).rev() {
            for b in (0..=inner.len()).rev() {
                let next = inner.get(b);
                fits[a][b] = match outer[a] {
                    Token::Many => fits[a + 1][b] || (next.is_some() && fits[a][b + 1]),
                    Token::One => {
                        matches!(next, Some(Token::Char(_) | Token::One)) && fits[a + 1][b + 1]
                    }
                    Token::Char(c) => next == Some(&Token::Char(c)) && fits[a + 1][b + 1],
                };
            }
        }
        fits[0][0]
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn token(c: char) -> Token {
    match c {
        '*' => Token::Many,
        '?' => Token::One,
        c => Token::Char(c),
    }
}

/// True when some string matches every pattern of `globs` (and, for no
/// pattern at all, trivially true).
///
/// Walks the product of the patterns' positions: a step reads one
/// character that every pattern accepts where it stands, and a pattern
/// standing on `*` may also move past it without reading. The patterns
/// share a string exactly when every one can reach its end together.
pub fn overlap(globs: &[&Glob]) -> bool {
    overlap_within(globs, STATE_LIMIT)
}

fn overlap_within(globs: &[&Glob], limit: usize) -> bool {
    // Most patterns compared in a matrix are ARNs of different buckets,
    // which differ in a literal long before any wildcard: settle those
    // without the walk.
    if literal_clash(globs, false) || literal_clash(globs, true) {
        return false;
    }
    let mut seen: HashSet<Vec<usize>> = HashSet::new();
    let mut todo = vec![vec![0; globs.len()]];
    while let Some(at) = todo.pop() {
        if !seen.insert(at.clone()) {
            continue;
        }
        if seen.len() > limit {
            return true;
        }
        if at.iter().zip(globs).all(|(&i, g)| i == g.tokens.len()) {
            return true;
        }
        for (n, g) in globs.iter().enumerate() {
            if g.tokens.get(at[n]) == Some(&Token::Many) {
                let mut past = at.clone();
                past[n] += 1;
                todo.push(past);
            }
        }
        if let Some(next) = read_one(globs, &at) {
            todo.push(next);
        }
    }
    false
}

/// True when the patterns' literal starts (or, `from_end`, their literal
/// ends) cannot agree: at some position before any `*`, two want different
/// characters, or one ends where another needs another character. A
/// quick, sound test that they share no string; `false` proves nothing.
fn literal_clash(globs: &[&Glob], from_end: bool) -> bool {
    if globs.is_empty() {
        return false;
    }
    let token = |g: &&Glob, i: usize| {
        if from_end {
            g.tokens.len().checked_sub(i + 1).map(|k| g.tokens[k])
        } else {
            g.tokens.get(i).copied()
        }
    };
    let mut i = 0;
    loop {
        let (mut many, mut ended, mut more, mut clash) = (false, false, false, false);
        let mut wanted = None;
        for g in globs {
            match token(g, i) {
                Some(Token::Many) => many = true,
                None => ended = true,
                Some(Token::One) => more = true,
                Some(Token::Char(c)) => {
                    more = true;
                    clash |= wanted.is_some_and(|w| w != c);
                    wanted = Some(c);
                }
            }
        }
        if many {
            return false;
        }
        if ended {
            // A pattern ends here: every other must end here too.
            return more;
        }
        if clash {
            return true;
        }
        i += 1;
    }
}

/// The positions after every pattern reads one common character from
/// `at`, or `None` when no character suits them all (one is at its end, or
/// two want different literals).
fn read_one(globs: &[&Glob], at: &[usize]) -> Option<Vec<usize>> {
    let mut wanted: Option<char> = None;
    let mut next = at.to_vec();
    for (n, g) in globs.iter().enumerate() {
        match g.tokens.get(at[n])? {
            Token::Many => {}
            Token::One => next[n] += 1,
            Token::Char(c) => {
                if wanted.is_some_and(|w| w != *c) {
                    return None;
                }
                wanted = Some(*c);
                next[n] += 1;
            }
        }
    }
    Some(next)
}

/// A statement's `Action`/`NotAction` (or `Resource`/`NotResource`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Elements {
    /// `Action`/`Resource`: what the list matches.
    Only(Vec<Glob>),
    /// `NotAction`/`NotResource`: everything the list does not match.
    AllBut(Vec<Glob>),
    /// Neither key: the statement matches nothing.
    Absent,
}

impl Elements {
    fn read(
        statement: &serde_json::Map<String, Value>,
        key: &str,
        not_key: &str,
        parse: fn(&str) -> Glob,
    ) -> Elements {
        let list = |v| strings(Some(v)).into_iter().map(parse).collect();
        if let Some(v) = statement.get(key) {
            Elements::Only(list(v))
        } else if let Some(v) = statement.get(not_key) {
            Elements::AllBut(list(v))
        } else {
            Elements::Absent
        }
    }
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// One statement of a policy, with where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The policy it belongs to, as messages name it (e.g. "inline policy
    /// `x` of group `client-acme`").
    pub policy: String,
    /// Its position in the policy, from 1.
    pub index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
    pub actions: Elements,
    pub resources: Elements,
    /// It has a `Condition`.
    pub conditional: bool,
}

/// The statements of `doc`, named after `policy`, for resources owned by
/// `resource_account`. A statement without a valid `Effect` is left out: it
/// grants and denies nothing (IAM would not have stored it); so is one
/// whose condition can never hold there (see [`crate::policy::condition`]).
pub fn rules(doc: &Value, policy: &str, resource_account: &str) -> Vec<Rule> {
    let mut out = Vec::new();
    for (n, statement) in statements(doc).into_iter().enumerate() {
        let effect = match statement.get("Effect").and_then(Value::as_str) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            _ => continue,
        };
        let actions = Elements::read(statement, "Action", "NotAction", Glob::action);
        let conditional = match condition_applies(statement, &actions, resource_account) {
            Applies::Always => false,
            Applies::Never => continue,
            Applies::Maybe => true,
        };
        out.push(Rule {
            policy: policy.to_owned(),
            index: n + 1,
            sid: statement
                .get("Sid")
                .and_then(Value::as_str)
                .map(str::to_owned),
            effect,
            actions,
            resources: Elements::read(statement, "Resource", "NotResource", Glob::resource),
            conditional,
        });
    }
    out
}

/// How a statement's condition decides for the requests its `actions`
/// can match: `s3:ResourceAccount` is present in S3 requests only, so the
/// answer is taken for S3 when every action is an S3 one, for other
/// services when none can be, and otherwise only when both agree.
fn condition_applies(
    statement: &serde_json::Map<String, Value>,
    actions: &Elements,
    resource_account: &str,
) -> Applies {
    let condition = statement.get("Condition");
    let known = |s3| Known {
        resource_account,
        s3,
        principal: None,
    };
    let any_s3 = Glob::action("s3:*");
    let (only_s3, no_s3) = match actions {
        Elements::Only(list) => (
            list.iter().all(|g| any_s3.covers(g)),
            list.iter().all(|g| !overlap(&[g, &any_s3])),
        ),
        _ => (false, false),
    };
    if only_s3 {
        return applies(condition, known(true));
    }
    if no_s3 {
        return applies(condition, known(false));
    }
    match (
        applies(condition, known(true)),
        applies(condition, known(false)),
    ) {
        (a, b) if a == b => a,
        _ => Applies::Maybe,
    }
}

/// What a client owns, as patterns: the actions that act on it and the
/// resource ARNs that name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    pub actions: Glob,
    pub resources: Vec<Glob>,
}

impl Owned {
    /// Bucket `name`: the bucket and every object in it, for any S3 action.
    pub fn bucket(name: &str) -> Owned {
        Owned {
            actions: Glob::action("s3:*"),
            resources: vec![
                Glob::resource(&crate::policy::arn::bucket_arn(name)),
                Glob::resource(&crate::policy::arn::objects_arn(name)),
            ],
        }
    }

    /// Every bucket whose name starts with `prefix`, and their objects.
    pub fn prefix(prefix: &str) -> Owned {
        Owned {
            actions: Glob::action("s3:*"),
            resources: vec![Glob::resource(&crate::policy::arn::prefix_arn(prefix))],
        }
    }

    /// CloudFront distribution `id` of `account_id`, for any CloudFront
    /// action.
    pub fn distribution(account_id: &str, id: &str) -> Owned {
        Owned {
            actions: Glob::action("cloudfront:*"),
            resources: vec![Glob::resource(&crate::policy::arn::distribution_arn(
                account_id, id,
            ))],
        }
    }
}

/// An `Allow` statement that reaches an owned resource, and how.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Reach {
    /// The policy, e.g. "inline policy `x` of group `client-acme`".
    pub policy: String,
    /// The statement's position in the policy, from 1.
    pub statement: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The actions it allows that act on the resource.
    pub actions: Matched,
    /// The resources it allows that meet the owned ones.
    pub resources: Matched,
    /// The statement, or the boundary statement that lets it through, has
    /// a `Condition` (counted as applying).
    pub conditional: bool,
}

impl fmt::Display for Reach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, statement `#{}`", self.policy, self.statement)?;
        if let Some(sid) = &self.sid {
            write!(f, " (`{sid}`)")?;
        }
        write!(
            f,
            ", allows {} on {}",
            self.actions.describe("action"),
            self.resources.describe("resource")
        )?;
        if self.conditional {
            f.write_str(" (under a condition)")?;
        }
        Ok(())
    }
}

/// What part of a statement's `Action` (or `Resource`) list reaches.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Matched {
    /// One pattern of an `Action`/`Resource` list, as written.
    Only(String),
    /// A `NotAction`/`NotResource` list: everything but these patterns.
    Except(Vec<String>),
}

impl Matched {
    /// How a message says it: "`s3:*`", or "every action except `iam:*`"
    /// (`noun` is "action" or "resource").
    pub fn describe(&self, noun: &str) -> String {
        match self {
            Matched::Only(pattern) => format!("`{pattern}`"),
            Matched::Except(list) if list.is_empty() => format!("every {noun}"),
            Matched::Except(list) => {
                let names: Vec<String> = list.iter().map(|p| format!("`{p}`")).collect();
                format!("every {noun} except {}", names.join(", "))
            }
        }
    }
}

/// Every identity `Allow` statement that reaches `owned`, for a principal
/// whose identity policies read as `identity` and whose permissions
/// boundary (if any) reads as `boundary`; empty when none does.
///
/// A statement reaches when, for some owned resource pattern, its actions
/// meet the owned actions and its resources meet the pattern; when a
/// boundary is set, one of its `Allow` statements must meet that same
/// part; and no unconditional `Deny` (identity or boundary) covers all of
/// it.
pub fn reach(identity: &[Rule], boundary: Option<&[Rule]>, owned: &Owned) -> Vec<Reach> {
    let denies: Vec<&Rule> = identity
        .iter()
        .chain(boundary.unwrap_or_default())
        .filter(|r| r.effect == Effect::Deny && !r.conditional)
        .collect();
    let bounds: Option<Vec<&Rule>> =
        boundary.map(|b| b.iter().filter(|r| r.effect == Effect::Allow).collect());
    let mut found = Vec::new();
    for rule in identity.iter().filter(|r| r.effect == Effect::Allow) {
        if let Some(reach) = first_reach(rule, bounds.as_deref(), &denies, owned) {
            found.push(reach);
        }
    }
    found
}

/// How `rule` reaches `owned`, if it does: the first part of what it
/// allows that a boundary lets through and no deny covers.
fn first_reach(
    rule: &Rule,
    bounds: Option<&[&Rule]>,
    denies: &[&Rule],
    owned: &Owned,
) -> Option<Reach> {
    // Resources first: they rule out most pairs, and cheaply.
    for resource in &owned.resources {
        let actions = Part::new(&owned.actions);
        let resources = Part::new(resource);
        for (res, res_label) in resources.narrow(&rule.resources) {
            if !res.possible() {
                continue;
            }
            for (acts, act_label) in actions.narrow(&rule.actions) {
                if !acts.possible() {
                    continue;
                }
                let open = match bounds {
                    None => (!denied(denies, &acts, &res)).then_some(false),
                    Some(bounds) => bounds.iter().find_map(|b| {
                        let through = acts.narrow(&b.actions).into_iter().any(|(a, _)| {
                            a.possible()
                                && res
                                    .narrow(&b.resources)
                                    .into_iter()
                                    .any(|(r, _)| r.possible() && !denied(denies, &a, &r))
                        });
                        through.then_some(b.conditional)
                    }),
                };
                if let Some(bound_conditional) = open {
                    return Some(Reach {
                        policy: rule.policy.clone(),
                        statement: rule.index,
                        sid: rule.sid.clone(),
                        actions: act_label,
                        resources: res_label.clone(),
                        conditional: rule.conditional || bound_conditional,
                    });
                }
            }
        }
    }
    None
}

/// A set of strings along one axis (actions or resources): those matching
/// every `include` pattern and none of the `exclude` ones.
#[derive(Debug, Clone)]
struct Part<'g> {
    include: Vec<&'g Glob>,
    exclude: Vec<&'g Glob>,
}

impl<'g> Part<'g> {
    fn new(glob: &'g Glob) -> Part<'g> {
        Part {
            include: vec![glob],
            exclude: Vec::new(),
        }
    }

    /// This part cut by a statement's elements, as a union of parts: one
    /// per pattern of an `Only` list (with that pattern), one for `AllBut`
    /// (its list excluded), none for `Absent`. Each comes with what of
    /// the statement it is: the pattern, or the whole list.
    fn narrow(&self, elements: &'g Elements) -> Vec<(Part<'g>, Matched)> {
        match elements {
            Elements::Only(list) => list
                .iter()
                .map(|g| {
                    let mut part = self.clone();
                    part.include.push(g);
                    (part, Matched::Only(g.text.clone()))
                })
                .collect(),
            Elements::AllBut(list) => {
                let mut part = self.clone();
                part.exclude.extend(list);
                let names = list.iter().map(|g| g.text.clone()).collect();
                vec![(part, Matched::Except(names))]
            }
            Elements::Absent => Vec::new(),
        }
    }

    /// False only when the part is provably empty: the included patterns
    /// share no string, or an excluded pattern covers one of them.
    fn possible(&self) -> bool {
        overlap(&self.include)
            && !self
                .exclude
                .iter()
                .any(|x| self.include.iter().any(|i| x.covers(i)))
    }

    /// True when every string of this part matches `elements`: some
    /// listed pattern covers an included one (`Only`), or no listed
    /// pattern can match a string of the part (`AllBut`).
    fn within(&self, elements: &Elements) -> bool {
        match elements {
            Elements::Only(list) => list
                .iter()
                .any(|d| self.include.iter().any(|i| d.covers(i))),
            Elements::AllBut(list) => list.iter().all(|n| {
                let mut with = self.include.clone();
                with.push(n);
                !overlap(&with) || self.exclude.iter().any(|x| x.covers(n))
            }),
            Elements::Absent => false,
        }
    }
}

/// True when one of `denies` covers every (action, resource) of the parts.
fn denied(denies: &[&Rule], actions: &Part<'_>, resources: &Part<'_>) -> bool {
    denies
        .iter()
        .any(|d| actions.within(&d.actions) && resources.within(&d.resources))
}

#[cfg(test)]
mod tests;
