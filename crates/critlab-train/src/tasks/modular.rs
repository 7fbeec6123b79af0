//! Modular arithmetic over all pairs (a, b) in Z_p × Z_p (Power et al. 2022).
use super::{Dataset, Inputs, Targets};
use critlab_core::TaskKind;

/// All examples of a modular operation; division skips b = 0 and needs p prime.
pub fn generate(op: TaskKind, p: usize) -> Dataset {
    let mut ids = Vec::with_capacity(2 * p * p);
    let mut labels = Vec::with_capacity(p * p);
    for a in 0..p {
        for b in 0..p {
            let label = match op {
                TaskKind::ModularAddition => (a + b) % p,
                TaskKind::ModularSubtraction => (a + p - b) % p,
                TaskKind::ModularMultiplication => (a * b) % p,
                TaskKind::ModularDivision => {
                    if b == 0 {
                        continue;
                    }
                    (a * inverse(b, p)) % p
                }
                TaskKind::ModularQuadratic => (a * a + a * b + b * b) % p,
                other => unreachable!("{other:?} is not a modular task"),
            };
            ids.extend([a as u32, b as u32]);
            labels.push(label as u32);
        }
    }
    Dataset { inputs: Inputs::Tokens { ids, positions: 2, vocab: p }, targets: Targets::Classes { labels, classes: p } }
}

/// b⁻¹ mod p by Fermat's little theorem (p prime).
fn inverse(b: usize, p: usize) -> usize {
    let (mut base, mut exp, mut acc) = (b % p, p - 2, 1usize);
    while exp > 0 {
        if exp & 1 == 1 {
            acc = acc * base % p;
        }
        base = base * base % p;
        exp >>= 1;
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(d: &Dataset, a: u32, b: u32) -> u32 {
        let Inputs::Tokens { ids, .. } = &d.inputs else { unreachable!() };
        let Targets::Classes { labels, .. } = &d.targets else { unreachable!() };
        let i = ids.chunks(2).position(|c| c == [a, b]).unwrap();
        labels[i]
    }

    #[test]
    fn operations_are_correct() {
        let p = 7;
        assert_eq!(label(&generate(TaskKind::ModularAddition, p), 5, 4), 2);
        assert_eq!(label(&generate(TaskKind::ModularSubtraction, p), 2, 5), 4);
        assert_eq!(label(&generate(TaskKind::ModularMultiplication, p), 3, 5), 1);
        assert_eq!(label(&generate(TaskKind::ModularDivision, p), 1, 3), 5); // 3·5 = 15 ≡ 1
        assert_eq!(label(&generate(TaskKind::ModularQuadratic, p), 2, 3), (4 + 6 + 9) % 7);
        assert_eq!(generate(TaskKind::ModularDivision, p).len(), 42);
    }
}
