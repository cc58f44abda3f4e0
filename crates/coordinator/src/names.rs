//! Human names for dataflows: `adjective-noun`, unique among running dataflows.

const ADJECTIVES: &[&str] = &[
    "agile", "brave", "calm", "clever", "eager", "fancy", "gentle", "happy", "jolly", "keen",
    "lively", "mighty", "nimble", "proud", "quick", "quiet", "rapid", "sharp", "steady", "swift",
    "tidy", "vivid", "witty", "zesty",
];

const NOUNS: &[&str] = &[
    "badger", "beacon", "comet", "falcon", "gecko", "harbor", "heron", "lynx", "meadow", "otter",
    "panda", "pebble", "piston", "quasar", "raven", "rover", "sensor", "servo", "sparrow",
    "summit", "tiger", "turtle", "walrus", "wombat",
];

/// A name accepted by `is_free`, picked pseudo-randomly.
pub fn generate(is_free: impl Fn(&str) -> bool) -> String {
    let seed = uuid::Uuid::now_v7().as_u128() as u64 ^ std::process::id() as u64;
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for attempt in 0.. {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let adjective = ADJECTIVES[(state % ADJECTIVES.len() as u64) as usize];
        let noun = NOUNS[((state >> 32) % NOUNS.len() as u64) as usize];
        let name = if attempt < 100 {
            format!("{adjective}-{noun}")
        } else {
            format!("{adjective}-{noun}-{attempt}")
        };
        if is_free(&name) {
            return name;
        }
    }
    unreachable!("the loop above only ends by returning")
}
