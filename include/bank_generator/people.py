"""Identity attributes of customers: Chinese names, IDs, phones, e-mails, addresses.

Faker is slow per call, so it only fills small pools once (seeded); the columns
are then drawn from the pools with numpy, with random numbers keyed by customer.
"""

from __future__ import annotations

import numpy as np
from faker import Faker

from include.bank_generator.randomness import Draws

ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
USCC_CHARS = np.frombuffer(b"0123456789ABCDEFGHJKLMNPQRTUWXY", dtype=np.uint8)
USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)])
PHONE_PREFIXES = np.array(
    [f"13{i}" for i in range(10)]
    + ["150", "151", "152", "155", "157", "158", "159"]
    + ["176", "177", "180", "181", "186", "187", "188", "189", "198", "199"]
)
EMAIL_DOMAINS = np.array(["qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "outlook.com"])


def _unique(values: list[str]) -> np.ndarray:
    return np.array(list(dict.fromkeys(v.replace("\n", " ") for v in values)))


class Pools:
    """Small seeded Faker pools the columns are drawn from."""

    def __init__(self, seed: int) -> None:
        fake = Faker("zh_CN")
        fake.seed_instance(seed)
        self.surnames = _unique([fake.last_name() for _ in range(400)])
        self.male_names = _unique([fake.first_name_male() for _ in range(600)])
        self.female_names = _unique([fake.first_name_female() for _ in range(600)])
        self.companies = _unique([fake.company() for _ in range(1500)])
        self.streets = _unique([fake.street_name() for _ in range(400)])
        self.districts = _unique([fake.district() for _ in range(150)])
        self.user_names = _unique([fake.user_name() for _ in range(800)])
        self.area_codes = _unique([fake.ssn()[:6] for _ in range(400)])


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Integer array -> (n, width) matrix of decimal digits."""
    powers = 10 ** np.arange(width - 1, -1, -1)
    return (values[:, None] // powers) % 10


def _ascii_rows(codes: np.ndarray) -> np.ndarray:
    """(n, w) matrix of ASCII codes -> array of str."""
    codes = np.ascontiguousarray(codes.astype(np.uint8))
    return codes.view(f"S{codes.shape[1]}").ravel().astype(str)


def national_ids(draw: Draws, pools: Pools, birth: np.ndarray, male: np.ndarray) -> np.ndarray:
    """18-digit resident ID: area, birth date, sequence (odd for men), MOD 11-2 check."""
    area = _pick(draw, "id_area", pools.area_codes).astype(np.int64)
    ymd = birth.astype("datetime64[D]").astype(str)
    ymd = np.char.replace(ymd, "-", "").astype(np.int64)
    seq = draw.integers("id_sequence", 0, 500) * 2 + male.astype(np.int64)
    digits = np.hstack([_digits(area, 6), _digits(ymd, 8), _digits(seq, 3)])
    check = ID_CHECK[(digits * ID_WEIGHTS).sum(axis=1) % 11]
    return _ascii_rows(np.hstack([digits + 48, check[:, None]]))


def credit_codes(draw: Draws, pools: Pools) -> np.ndarray:
    """18-character unified social credit code (GB 32100) with its check character."""
    n = len(draw)
    area = _pick(draw, "code_area", pools.area_codes).astype(np.int64)
    values = np.hstack(
        [
            np.tile([9, 1], (n, 1)),
            _digits(area, 6),
            (draw.uniform_matrix("code_body", 9) * 31).astype(np.int64),
        ]
    )
    check = (31 - (values * USCC_WEIGHTS).sum(axis=1) % 31) % 31
    return _ascii_rows(USCC_CHARS[np.hstack([values, check[:, None]])])


def _pick(draw: Draws, label: str, pool: np.ndarray) -> np.ndarray:
    return pool[draw.integers(label, 0, len(pool))]


def phones(draw: Draws, label: str = "phone") -> np.ndarray:
    if not len(draw):
        return np.zeros(0, str)
    tail = np.char.zfill(draw.integers(label, 0, 10**8).astype(str), 8)
    return np.char.add(_pick(draw, f"{label}_prefix", PHONE_PREFIXES), tail)


def addresses(draw: Draws, pools: Pools, city: np.ndarray, label: str = "address") -> np.ndarray:
    address = city
    for part in (
        "市",
        _pick(draw, f"{label}_district", pools.districts),
        "区",
        _pick(draw, f"{label}_street", pools.streets),
        draw.integers(f"{label}_number", 1, 900).astype(str),
        "号",
    ):
        address = np.char.add(address, part)
    return address


def identities(
    draw: Draws,
    pools: Pools,
    corporate: np.ndarray,
    birth: np.ndarray,
    male: np.ndarray,
    city: np.ndarray,
) -> dict[str, np.ndarray]:
    """full_name, national_id, phone, email (may be empty), address for each customer."""
    given = np.where(
        male,
        _pick(draw, "male_name", pools.male_names),
        _pick(draw, "female_name", pools.female_names),
    )
    person = np.char.add(_pick(draw, "surname", pools.surnames), given)
    company = np.char.add(city, _pick(draw, "company", pools.companies))
    full_name = np.where(corporate, company, person)
    national_id = np.where(
        corporate, credit_codes(draw, pools), national_ids(draw, pools, birth, male)
    )
    local = np.char.add(
        _pick(draw, "user_name", pools.user_names), draw.integers("user_number", 1, 999).astype(str)
    )
    email = np.char.add(np.char.add(local, "@"), _pick(draw, "email_domain", EMAIL_DOMAINS))
    email = np.where(draw.uniform("no_email") < 0.25, "", email)
    return {
        "full_name": full_name,
        "national_id": national_id,
        "phone": phones(draw),
        "email": email,
        "address": addresses(draw, pools, city),
    }
