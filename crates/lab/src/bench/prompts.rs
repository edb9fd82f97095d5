//! The prompts of each suite, generated deterministically: prompt `i` of a suite is in
//! category `categories[i % len]`, its text comes from that category's templates with
//! a topic and numbers drawn from `i`, and its `max_tokens` is the category's.

use super::suite::Suite;

/// One prompt of a suite.
#[derive(Clone, Debug, PartialEq)]
pub struct Prompt {
    /// Its index in the suite, the `prompt_id` of its result.
    pub index: usize,
    /// Its category.
    pub category: &'static str,
    /// The text sent as `prompt`.
    pub text: String,
    /// The `max_tokens` sent with it.
    pub max_tokens: u32,
}

/// The prompts of `suite`, at most `limit` of them.
pub fn prompts(suite: &Suite, limit: Option<usize>) -> Vec<Prompt> {
    let n = limit.map_or(suite.prompts, |l| l.min(suite.prompts));
    (0..n).filter_map(|i| prompt(suite, i)).collect()
}

/// Prompt `index` of `suite`; `None` when the suite has no categories.
pub fn prompt(suite: &Suite, index: usize) -> Option<Prompt> {
    let (category, _) = suite
        .categories
        .get(index % suite.categories.len().max(1))?;
    let table = TABLE
        .iter()
        .find(|t| t.category == *category)
        .unwrap_or(&FALLBACK);
    // The how-many-th prompt of this category; templates and topics cycle at coprime
    // lengths so that neighbours differ.
    let round = index / suite.categories.len();
    let template = table.templates[round % table.templates.len()];
    let topic = table.topics[round % table.topics.len()];
    let n = 3 + (index * 37 + 11) % 97;
    let m = 2 + (index * 13 + 5) % 17;
    let text = template
        .replace("{topic}", topic)
        .replace("{n}", &n.to_string())
        .replace("{m}", &m.to_string());
    Some(Prompt {
        index,
        category,
        text,
        max_tokens: table.max_tokens,
    })
}

/// How one category's prompts read.
struct Category {
    category: &'static str,
    max_tokens: u32,
    /// Texts with `{topic}`, `{n}` and `{m}` placeholders; three per category.
    templates: &'static [&'static str],
    /// Topics; seven per category (coprime with three templates).
    topics: &'static [&'static str],
}

const FALLBACK: Category = Category {
    category: "",
    max_tokens: 128,
    templates: &["Answer the following question about {topic} in {m} sentences."],
    topics: &["the task at hand"],
};

const TABLE: &[Category] = &[
    Category {
        category: "math",
        max_tokens: 64,
        templates: &[
            "Solve step by step: a {topic} costs {n} dollars and is discounted by {m} percent. What is the new price?",
            "Compute the sum of the first {n} terms of {topic}, starting at {m}. Give only the final number.",
            "A train travels {n} km in {m} hours while carrying {topic}. What is its average speed in km/h?",
        ],
        topics: &[
            "book",
            "bicycle",
            "laptop",
            "an arithmetic series",
            "a geometric series",
            "concert ticket",
            "coffee machine",
        ],
    },
    Category {
        category: "reasoning",
        max_tokens: 128,
        templates: &[
            "If every {topic} in a group of {n} is also a member of a club of {m}, what can we conclude? Explain your reasoning.",
            "Alice is taller than Bob, Bob is taller than Carol, and {m} of {n} people prefer {topic}. Who is shortest, and why?",
            "Identify the flaw in this argument about {topic}: because {n} cases succeeded, all {m} future cases will succeed.",
        ],
        topics: &[
            "cat",
            "engineer",
            "chess player",
            "remote work",
            "public transport",
            "student",
            "tea",
        ],
    },
    Category {
        category: "code",
        max_tokens: 128,
        templates: &[
            "Write a Python function that returns the {n}th element of {topic}. Include a docstring.",
            "Explain what this code does and fix its bug: `for i in range({n}): total += {topic}[i + {m}]`",
            "Implement {topic} in Rust for inputs of up to {n} elements and state its time complexity.",
        ],
        topics: &[
            "the Fibonacci sequence",
            "a binary search",
            "a ring buffer",
            "merge sort",
            "the prime numbers",
            "a LRU cache",
            "the values",
        ],
    },
    Category {
        category: "factual",
        max_tokens: 48,
        templates: &[
            "In one sentence: what is {topic}?",
            "Name {m} facts about {topic} that most people get wrong.",
            "When and where did {topic} first appear? Answer briefly.",
        ],
        topics: &[
            "photosynthesis",
            "the printing press",
            "the Treaty of Westphalia",
            "a neutron star",
            "the Krebs cycle",
            "TCP/IP",
            "the Rosetta Stone",
        ],
    },
    Category {
        category: "long_form",
        max_tokens: 256,
        templates: &[
            "Write a {n}-word essay on {topic}, with an introduction, three arguments and a conclusion.",
            "Draft a detailed blog post explaining {topic} to a newcomer, in {m} sections.",
            "Write a short story of about {n} words in which {topic} changes the main character's life.",
        ],
        topics: &[
            "climate adaptation in cities",
            "the history of aviation",
            "open-source software",
            "a lost letter",
            "learning a second language",
            "urban gardening",
            "a night train",
        ],
    },
    Category {
        category: "medical",
        max_tokens: 128,
        templates: &[
            "A {n}-year-old patient presents with {topic}. List the differential diagnosis in order of likelihood.",
            "Summarise first-line treatment for {topic} in adults, including typical dosing for a {m} kg patient.",
            "Explain {topic} to a patient in plain language, in {m} sentences or fewer.",
        ],
        topics: &[
            "chest pain on exertion",
            "type 2 diabetes",
            "community-acquired pneumonia",
            "migraine with aura",
            "iron-deficiency anaemia",
            "atrial fibrillation",
            "acute low back pain",
        ],
    },
    Category {
        category: "legal",
        max_tokens: 128,
        templates: &[
            "Under common law, what are the elements of {topic}? Cite the general principle.",
            "A tenant has been {n} days late on rent; how does {topic} apply? Answer in {m} points.",
            "Draft a clause covering {topic} for a services contract worth {n} thousand dollars.",
        ],
        topics: &[
            "breach of contract",
            "negligence",
            "force majeure",
            "adverse possession",
            "limitation of liability",
            "implied warranty",
            "confidentiality",
        ],
    },
    Category {
        category: "technical",
        max_tokens: 128,
        templates: &[
            "Explain how {topic} works and when to prefer it, in {m} bullet points.",
            "A cluster of {n} nodes shows high tail latency after enabling {topic}. What would you check first?",
            "Compare {topic} with its main alternative for a workload of {n} requests per second.",
        ],
        topics: &[
            "Kubernetes horizontal pod autoscaling",
            "a write-ahead log",
            "consistent hashing",
            "PagedAttention",
            "TLS session resumption",
            "a Bloom filter",
            "gRPC streaming",
        ],
    },
    Category {
        category: "regression",
        max_tokens: 48,
        templates: &[
            "What is {n} plus {m}?",
            "Translate to French: \"The {topic} is on the table.\"",
            "Spell the word \"{topic}\" backwards.",
        ],
        topics: &[
            "book", "window", "apple", "bicycle", "garden", "letter", "mountain",
        ],
    },
    Category {
        category: "cross_domain",
        max_tokens: 128,
        templates: &[
            "How might ideas from {topic} improve hospital scheduling? Give {m} concrete examples.",
            "Explain {topic} using an analogy from cooking, then from law.",
            "A startup of {n} people wants to apply {topic} to farming. What are the risks?",
        ],
        topics: &[
            "queueing theory",
            "game theory",
            "evolutionary biology",
            "control systems",
            "information theory",
            "behavioural economics",
            "supply-chain logistics",
        ],
    },
    Category {
        category: "coherence",
        max_tokens: 96,
        templates: &[
            "Rate the coherence of this answer from 1 to 10 and justify it: \"{topic} matters because it matters, as {n} studies show.\"",
            "Rewrite this paragraph about {topic} so its {m} sentences follow a logical order.",
            "Does this summary of {topic} contradict itself? Answer yes or no, then explain.",
        ],
        topics: &[
            "renewable energy",
            "remote work",
            "the French Revolution",
            "vaccination",
            "inflation",
            "plate tectonics",
            "social media",
        ],
    },
    Category {
        category: "helpfulness",
        max_tokens: 128,
        templates: &[
            "A user asks: \"How do I get started with {topic}?\" Score the helpfulness of a {m}-step answer and suggest improvements.",
            "Give practical advice on {topic} for someone with {m} hours a week.",
            "Judge whether this reply is helpful: \"Just search for {topic} online.\" Explain your score.",
        ],
        topics: &[
            "running a marathon",
            "learning Rust",
            "saving for retirement",
            "home composting",
            "public speaking",
            "woodworking",
            "meal planning",
        ],
    },
    Category {
        category: "factuality",
        max_tokens: 64,
        templates: &[
            "Is this claim true or false? \"{topic} was discovered {n} years ago.\" Explain briefly.",
            "Check the facts in this sentence: \"There are {m} known moons in {topic}.\"",
            "List any factual errors in a short description of {topic}.",
        ],
        topics: &[
            "penicillin",
            "the solar system",
            "DNA's double helix",
            "the Higgs boson",
            "the Great Wall of China",
            "the electron",
            "Saturn",
        ],
    },
    Category {
        category: "edge_case",
        max_tokens: 48,
        templates: &[
            "Respond to an empty question about {topic}: \"\"",
            "What is {n} divided by zero in the context of {topic}?",
            "Answer in exactly {m} words, no more and no fewer: what is {topic}?",
        ],
        topics: &[
            "nothing",
            "infinity",
            "a paradox",
            "an undefined variable",
            "a null pointer",
            "the empty set",
            "silence",
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::super::suite::SUITES;
    use super::*;

    #[test]
    fn every_category_has_its_own_templates() {
        for category in super::super::suite::categories() {
            let t = TABLE.iter().find(|t| t.category == category);
            let t = t.unwrap_or_else(|| panic!("no templates for {category}"));
            assert_eq!(t.templates.len(), 3, "{category}");
            assert_eq!(t.topics.len(), 7, "{category}");
        }
    }

    #[test]
    fn prompts_cycle_through_categories_deterministically() {
        let suite = &SUITES[0];
        let all = prompts(suite, None);
        assert_eq!(all.len(), suite.prompts);
        assert_eq!(all, prompts(suite, None));
        for p in &all {
            assert_eq!(p.category, suite.categories[p.index % 5].0);
            assert!(!p.text.contains('{'), "{}", p.text);
            assert!(p.max_tokens > 0);
        }
        assert_ne!(all[0].text, all[5].text);
        assert_eq!(all[4].max_tokens, 256, "long_form");
        assert_eq!(prompts(suite, Some(3)).len(), 3);
        assert_eq!(prompts(suite, Some(10_000)).len(), suite.prompts);
    }
}
