//! Container IDs and docker-style random names (`adjective_surname`).

use std::io::Read;

const LEFT: &[&str] = &[
    "admiring",
    "agitated",
    "amazing",
    "angry",
    "awesome",
    "blissful",
    "bold",
    "brave",
    "busy",
    "charming",
    "clever",
    "cool",
    "compassionate",
    "competent",
    "confident",
    "cranky",
    "dazzling",
    "determined",
    "eager",
    "ecstatic",
    "elastic",
    "elegant",
    "epic",
    "festive",
    "focused",
    "friendly",
    "frosty",
    "gallant",
    "gifted",
    "goofy",
    "gracious",
    "happy",
    "hopeful",
    "hungry",
    "inspiring",
    "jolly",
    "keen",
    "kind",
    "laughing",
    "loving",
    "lucid",
    "modest",
    "musing",
    "nervous",
    "nifty",
    "nostalgic",
    "peaceful",
    "pensive",
    "practical",
    "priceless",
    "quirky",
    "relaxed",
    "romantic",
    "serene",
    "sharp",
    "silly",
    "sleepy",
    "stoic",
    "strange",
    "sweet",
    "tender",
    "trusting",
    "vibrant",
    "vigilant",
    "wizardly",
    "wonderful",
    "youthful",
    "zealous",
];

const RIGHT: &[&str] = &[
    "albattani",
    "allen",
    "archimedes",
    "babbage",
    "banach",
    "bardeen",
    "bell",
    "bhabha",
    "blackwell",
    "bohr",
    "brahmagupta",
    "cannon",
    "carson",
    "cerf",
    "chandrasekhar",
    "curie",
    "darwin",
    "dijkstra",
    "easley",
    "einstein",
    "elion",
    "euclid",
    "euler",
    "fermat",
    "feynman",
    "franklin",
    "galileo",
    "gauss",
    "goldberg",
    "goodall",
    "hamilton",
    "hawking",
    "heisenberg",
    "hopper",
    "hypatia",
    "jackson",
    "jemison",
    "joliot",
    "kalam",
    "kepler",
    "knuth",
    "lamarr",
    "leakey",
    "lovelace",
    "mayer",
    "mccarthy",
    "meitner",
    "mirzakhani",
    "montalcini",
    "morse",
    "newton",
    "noether",
    "pascal",
    "pasteur",
    "ramanujan",
    "ritchie",
    "shannon",
    "sinoussi",
    "swartz",
    "tesla",
    "thompson",
    "torvalds",
    "turing",
    "wescoff",
    "wilson",
    "wozniak",
    "yalow",
    "zhukovsky",
];

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_err()
    {
        // Never expected on Linux; fall back to time and pid.
        let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
        let d = wharf_oci::Digest::of(seed.as_bytes());
        for (i, x) in b.iter_mut().enumerate() {
            *x = u8::from_str_radix(&d.hex()[(i * 2) % 62..(i * 2) % 62 + 2], 16).unwrap_or(0);
        }
    }
    b
}

/// A new container ID: 64 hex digits, never all digits (docker avoids IDs
/// that parse as numbers).
pub fn new_id() -> String {
    loop {
        let id = hex_of(&random_bytes::<32>());
        if id.bytes().any(|b| b.is_ascii_alphabetic()) {
            return id;
        }
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `adjective_surname`, with a digit appended on retries as docker does.
pub fn random_name(retry: u32) -> String {
    let r = random_bytes::<4>();
    let mut name = format!(
        "{}_{}",
        LEFT[r[0] as usize % LEFT.len()],
        RIGHT[r[1] as usize % RIGHT.len()]
    );
    if retry > 0 {
        name.push_str(&(r[2] % 10).to_string());
    }
    name
}

/// Docker's rule for `--name`: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names() {
        let id = new_id();
        assert_eq!(id.len(), 64);
        assert_ne!(id, new_id());
        assert!(valid_name(&random_name(0)));
        assert!(valid_name("web-1.a_b"));
        assert!(!valid_name("-x") && !valid_name("a") && !valid_name("a b"));
    }
}
