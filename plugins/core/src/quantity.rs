//! Kubernetes resource quantities (`500m`, `0.5`, `512Mi`, `1e3`) as numbers.
//!
//! `new` validates CPU and memory flags with it, `apply` compares a job's limits with
//! the canonical form the API server stores (`0.5` is stored as `500m`), and the image
//! SDK turns limits into Docker's bytes and nano-CPUs: one parser, so all three agree on
//! what a quantity is.

/// The value of a quantity: an optional sign, a decimal number, then a decimal (`m`,
/// `k`, `M` ... `E`) or binary (`Ki` ... `Ei`) suffix or an exponent (`e3`). `None` when
/// the text is not a quantity.
pub fn value(text: &str) -> Option<f64> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'-' => (-1.0, &text[1..]),
        b'+' => (1.0, &text[1..]),
        _ => (1.0, text),
    };
    let number_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_len);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return None;
    }
    let factor = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exponent => {
            let exponent = exponent.strip_prefix(['e', 'E'])?;
            let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            10f64.powi(exponent.parse().ok()?)
        }
    };
    Some(sign * number.parse::<f64>().ok()? * factor)
}

#[cfg(test)]
mod tests {
    use super::value;

    #[test]
    fn suffixes_and_exponents() {
        assert_eq!(value("500m"), Some(0.5));
        assert_eq!(value("0.5"), Some(0.5));
        assert_eq!(value(".5"), Some(0.5));
        assert_eq!(value("2"), Some(2.0));
        assert_eq!(value("1Ki"), Some(1024.0));
        assert_eq!(value("1024Mi"), value("1Gi"));
        assert_eq!(value("1e3"), Some(1000.0));
        assert_eq!(value("1E+3"), Some(1000.0));
        assert_eq!(value("5e-1"), Some(0.5));
        assert_eq!(value("-1"), Some(-1.0));
        assert_eq!(value("+1k"), Some(1000.0));
    }

    #[test]
    fn malformed_quantities() {
        for bad in [
            "", ".", "-", "1.2.3", "1x", "Mi", "1 Mi", "1e", "1e+", "1ki", "1.5.Gi",
        ] {
            assert_eq!(value(bad), None, "{bad:?} accepted");
        }
    }
}
