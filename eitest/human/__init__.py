"""Study 2's human side: response files, norms built from human data, form comparison, survey export."""
