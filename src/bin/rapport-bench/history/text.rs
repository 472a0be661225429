//! Deterministic made-up content: a small PRNG, people's names, and messages drawn from a
//! vocabulary with a Zipf-like word distribution (a few words in most messages, most words in
//! few), so that search meets the spread of matches a real history has.

/// xorshift64*: fast, tiny, and the same sequence on every machine for a given seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // Never zero (xorshift's one fixed point), and nearby seeds diverge at once.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize % n.max(1)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Exponentially distributed with the given mean.
    pub fn exp(&mut self, mean: f64) -> f64 {
        -(1.0 - self.unit()).ln() * mean
    }

    pub fn pick<'a, T>(&mut self, of: &'a [T]) -> &'a T {
        &of[self.below(of.len())]
    }
}

/// The word searched for as rare: placed far down the vocabulary.
pub const RARE: &str = "kumquat";
/// Its rank (1-based) in the vocabulary: with the default history, about one message in 1,500.
const RARE_RANK: usize = 2_000;
/// A three-letter prefix that many words share (password, pass, past, paste, ...).
pub const PREFIX: &str = "pas";

/// The most frequent English words, roughly in frequency order, then the words of support.
const COMMON: &str = "the to and a i you it of is that in for this be have on with not my can we are but \
    your do was at if so me what just get all there will as they would like about an or know from \
    one out up no please thanks when how can't don't it's i'm need help now time could still yes \
    work working some been has any here thank hi hello again see then them our which had more \
    try tried other new also only back because did should after way make very right good day \
    today let us before it's able sure where why problem issue account order email page \
    link app phone number again log login password reset change update payment card invoice \
    refund price plan subscription trial cancel billing charge charged receipt address shipping \
    delivery package tracking arrived week month since yesterday morning error message screen \
    button click settings profile name team support question answer found find look looks \
    send sent receive received open close closed file upload download export import report \
    data browser chrome firefox safari windows mac android iphone version install installed \
    mobile desktop website site sign signed access permission admin user users customer \
    customers product products feature features request requested available soon later \
    asap urgent quick quickly still wrong broken slow fast fine great perfect awesome sorry \
    unfortunately possible impossible instead already never always usually sometimes every \
    first last next previous same different another many much less most least few";

/// More words of support conversations, further down the distribution.
const SUPPORT: &str = "pass past paste pastry passport passenger pasta pastel pasture passive \
    discount coupon voucher promo warranty replacement return exchange damaged missing lost \
    stolen blocked locked unlock verify verification code token session cookie cache clear \
    reload refresh restart reboot crash crashed freeze frozen timeout latency outage downtime \
    maintenance migration backup restore sync synced duplicate duplicated merge merged split \
    calendar schedule meeting appointment booking reservation confirmation reminder notification \
    alert banner popup modal dialog dropdown checkbox toggle slider tab sidebar header footer \
    printer scanner keyboard mouse monitor cable charger battery adapter router modem wifi \
    bluetooth firmware driver plugin extension integration webhook endpoint api key secret \
    spreadsheet document attachment screenshot photo image video audio recording transcript \
    contract agreement terms policy privacy gdpr consent compliance audit tax vat currency \
    euro dollar pound exchange rate bank transfer wire paypal stripe checkout cart basket";

/// Syllables for the long tail of rarer words.
const SYLLABLES: &[&str] = &[
    "ba", "be", "bi", "bo", "cor", "da", "de", "dri", "fa", "fen", "ga", "gor", "ha", "hel", "ja", "ka", "ke", "la",
    "le", "li", "lo", "ma", "me", "mi", "mo", "na", "ne", "ni", "no", "pe", "pi", "po", "qua", "ra", "re", "ri", "ro",
    "sa", "se", "si", "so", "ta", "te", "ti", "to", "tra", "va", "ve", "vi", "vo", "xe", "za", "zo", "lun", "mar",
    "ther", "ston", "wick", "dor", "quin",
];

/// How many words the vocabulary has: the listed ones, then made-up ones.
const VOCABULARY: usize = 6_000;
/// The Zipf exponent: word r is drawn with weight 1 / r^S.
const S: f64 = 1.0;

pub struct Words {
    words: Vec<String>,
    /// Cumulative weights, for drawing by binary search.
    cumulative: Vec<f64>,
}

impl Words {
    pub fn new() -> Words {
        let mut seen = std::collections::HashSet::new();
        let mut words: Vec<String> = COMMON
            .split_whitespace()
            .chain(SUPPORT.split_whitespace())
            .filter(|w| *w != RARE && seen.insert(w.to_string()))
            .map(String::from)
            .collect();
        // Made-up words from a fixed seed, so the vocabulary is the same on every run.
        let mut rng = Rng::new(0x005E_ED0F_7A1C);
        while words.len() < VOCABULARY - 1 {
            let n = 2 + rng.below(2);
            let word: String = (0..n).map(|_| *rng.pick(SYLLABLES)).collect();
            if !word.starts_with(PREFIX) && !word.starts_with(&RARE[..3]) && seen.insert(word.clone()) {
                words.push(word);
            }
        }
        words.insert(RARE_RANK - 1, RARE.to_owned());
        let mut total = 0.0;
        let cumulative = (1..=words.len())
            .map(|rank| {
                total += 1.0 / (rank as f64).powf(S);
                total
            })
            .collect();
        Words { words, cumulative }
    }

    pub fn word(&self, rng: &mut Rng) -> &str {
        let total = self.cumulative[self.cumulative.len() - 1];
        let at = rng.unit() * total;
        let i = self.cumulative.partition_point(|&c| c <= at).min(self.words.len() - 1);
        &self.words[i]
    }

    /// A sentence of `min..=max` words, capitalised, ending in `.` or `?`.
    pub fn sentence(&self, rng: &mut Rng, min: usize, max: usize) -> String {
        let n = min + rng.below(max - min + 1);
        let mut s = String::with_capacity(n * 7);
        for i in 0..n {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(self.word(rng));
        }
        if let Some(first) = s.get(..1) {
            let upper = first.to_uppercase();
            s.replace_range(..1, &upper);
        }
        s.push(if rng.chance(0.2) { '?' } else { '.' });
        s
    }

    /// A message of one to three sentences.
    pub fn message(&self, rng: &mut Rng) -> String {
        let n = 1 + rng.below(3);
        (0..n).map(|_| self.sentence(rng, 3, 12)).collect::<Vec<_>>().join(" ")
    }

    /// A ticket's title or an email's subject: a short sentence without its full stop.
    pub fn title(&self, rng: &mut Rng) -> String {
        let mut s = self.sentence(rng, 3, 7);
        s.pop();
        s
    }
}

const FIRST: &[&str] = &[
    "Anna", "Ben", "Chloé", "David", "Emma", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kemal", "Lea", "Marco",
    "Nora", "Oscar", "Priya", "Quentin", "Rosa", "Samir", "Tara", "Ugo", "Vera", "Wei", "Yuki", "Zoe", "Aisha",
    "Bruno", "Carla", "Diego", "Elif", "Felix", "Hana", "Ivan", "Julia", "Liam", "Maya", "Noah", "Olga", "Paul",
    "Sofia",
];
const LAST: &[&str] = &[
    "Müller", "Smith", "Rossi", "García", "Dubois", "Kowalski", "Nguyen", "Kim", "Silva", "Jensen", "Novak", "Ivanova",
    "Haddad", "Tanaka", "Okafor", "Larsen", "Moreau", "Schmidt", "Costa", "Wright", "Yilmaz", "Berg", "Fischer",
    "Lopez", "Patel", "Chen", "Ward", "Keller", "Romano", "Brown",
];

/// A customer's name and a unique email address (`n` makes it unique).
pub fn person(rng: &mut Rng, n: usize) -> (String, String) {
    let (first, last) = (*rng.pick(FIRST), *rng.pick(LAST));
    let ascii = |s: &str| -> String {
        s.chars()
            .map(|c| match c {
                'ü' => 'u',
                'é' => 'e',
                'í' => 'i',
                c => c,
            })
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_lowercase()
    };
    let domain = *rng.pick(&["example.com", "example.org", "example.net", "mail.example"]);
    (format!("{first} {last}"), format!("{}.{}{n}@{domain}", ascii(first), ascii(last)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_words_are_in_most_messages_and_the_rare_one_in_few() {
        let words = Words::new();
        let mut rng = Rng::new(1);
        let messages: Vec<String> = (0..20_000).map(|_| words.message(&mut rng).to_lowercase()).collect();
        let with =
            |w: &str| messages.iter().filter(|m| m.split(|c: char| !c.is_alphanumeric()).any(|x| x == w)).count();
        assert!(with("the") > 10_000, "the: {}", with("the"));
        assert!(with(RARE) < 100, "{RARE}: {}", with(RARE));
    }
}
