//! [`format_g17`]: a number as C's `printf("%.17g")` prints it, which is how Redis turns a
//! Lua number into a command argument, and a `{double = x}` reply into a bulk string.

/// Formats a number as C's `printf("%.17g")` does, which is how Redis turns a Lua number into
/// a command argument (and a `double` reply into a bulk string).
pub fn format_g17(x: f64) -> String {
    if x.is_nan() {
        // glibc prints the sign of a NaN; Lua's 0/0 has it set.
        return if x.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf" } else { "inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    const PRECISION: i32 = 17;
    // Scientific form with 17 significant digits gives the decimal exponent after rounding.
    let sci = format!("{:.*e}", (PRECISION - 1) as usize, x);
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..PRECISION).contains(&exponent) {
        let decimals = (PRECISION - 1 - exponent).max(0) as usize;
        let fixed = format!("{x:.decimals$}");
        trim_fraction(&fixed).to_string()
    } else {
        let mantissa = trim_fraction(mantissa);
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    }
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_format_like_printf_g17() {
        for (x, want) in [
            (3.0, "3"),
            (10.5, "10.5"),
            (0.1, "0.10000000000000001"),
            (1e20, "1e+20"),
            (1e-5, "1.0000000000000001e-05"),
            (1.5e300, "1.5000000000000001e+300"),
            (123456789.0, "123456789"),
            (-0.0, "-0"),
            (f64::INFINITY, "inf"),
            (-f64::INFINITY, "-inf"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (0.0001, "0.0001"),
            (-2.5, "-2.5"),
        ] {
            assert_eq!(format_g17(x), want, "{x}");
        }
    }
}
