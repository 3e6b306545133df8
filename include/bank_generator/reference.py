"""Reference codes shared by the generator and the dbt seeds (do not invent others)."""

from __future__ import annotations

import numpy as np

from include.bank_generator.config import Calendar

# product_code -> (product_name, product_category, customer_type)
PRODUCTS: dict[str, tuple[str, str, str]] = {
    "CUR_RETAIL": ("Retail current account", "current_account", "retail"),
    "TD_3M": ("Time deposit 3 months", "time_deposit", "retail"),
    "TD_6M": ("Time deposit 6 months", "time_deposit", "retail"),
    "TD_12M": ("Time deposit 12 months", "time_deposit", "retail"),
    "TD_36M": ("Time deposit 36 months", "time_deposit", "retail"),
    "WM_STABLE": ("Wealth management - stable", "wealth_product", "retail"),
    "WM_GROWTH": ("Wealth management - growth", "wealth_product", "retail"),
    "FUND_EQUITY": ("Equity fund", "fund", "retail"),
    "FUND_BOND": ("Bond fund", "fund", "retail"),
    "INS_LIFE": ("Life insurance (cash value)", "insurance", "retail"),
    "LOAN_PERSONAL": ("Personal loan", "loan", "retail"),
    "LOAN_MORTGAGE": ("Mortgage", "loan", "retail"),
    "CARD_STANDARD": ("Credit card standard", "credit_card", "retail"),
    "CARD_PLATINUM": ("Credit card platinum", "credit_card", "retail"),
    "CUR_CORP": ("Corporate current account", "current_account", "corporate"),
    "TD_CORP_12M": ("Corporate time deposit 12 months", "time_deposit", "corporate"),
    "WM_CORP": ("Corporate wealth management", "wealth_product", "corporate"),
    "LOAN_BUSINESS": ("Business loan", "loan", "corporate"),
}
PRODUCT_CODES = tuple(PRODUCTS)
PRODUCT_INDEX = {code: i for i, code in enumerate(PRODUCT_CODES)}
PRODUCT_CATEGORY = np.array([PRODUCTS[c][1] for c in PRODUCT_CODES])
TD_TERMS = {"TD_3M": 3, "TD_6M": 6, "TD_12M": 12, "TD_36M": 36, "TD_CORP_12M": 12}
TD_RATES = {
    "TD_3M": 0.0125,
    "TD_6M": 0.0145,
    "TD_12M": 0.0165,
    "TD_36M": 0.0195,
    "TD_CORP_12M": 0.017,
}
CAMPAIGN_TD_BONUS = 0.006  # deposit-push campaigns pay above the board rate

# transaction_type_code -> description; the first block is customer-initiated.
TRANSACTION_TYPES: dict[str, str] = {
    "deposit": "Cash or cheque deposit",
    "withdrawal": "Cash withdrawal",
    "transfer_in": "Incoming transfer",
    "transfer_out": "Outgoing transfer",
    "bill_payment": "Bill payment",
    "merchant_payment": "Payment to a merchant",
    "card_spend": "Card purchase",
    "wealth_purchase": "Purchase of a wealth, fund or insurance product",
    "wealth_redemption": "Redemption of a wealth, fund or insurance product",
    "time_deposit_placement": "Placement of a time deposit",
    "loan_repayment_manual": "Manual loan repayment",
    "card_repayment": "Credit card repayment",
    "salary_credit": "Salary or pension credit (payroll)",
    "loan_repayment_auto": "Automatic loan repayment",
    "loan_disbursement": "Loan disbursement",
    "time_deposit_maturity": "Time deposit maturity or early withdrawal",
    "interest_credit": "Interest credit",
    "fee_charge": "Fee",
    "reversal": "Reversal of an earlier posting",
    "system_adjustment": "System adjustment",
}
TX_TYPES = tuple(TRANSACTION_TYPES)
TX = {code: i for i, code in enumerate(TX_TYPES)}

CHANNELS = ("branch", "atm", "online", "mobile", "pos", "system")
CH = {c: i for i, c in enumerate(CHANNELS)}
COUNTERPARTY_TYPES = ("same_bank", "other_bank", "merchant", "employer", "government", "none")
CP = {c: i for i, c in enumerate(COUNTERPARTY_TYPES)}
OUR_BANK = "OURBANK"
OTHER_BANKS = ("ICBC", "CCB", "ABC", "BOC", "CMB", "BOCOM", "CITIC", "SPDB", "CIB", "PAB")
BANK_CODES = (OUR_BANK, *OTHER_BANKS)
MERCHANT_CATEGORIES = (
    "grocery",
    "dining",
    "travel",
    "utilities",
    "education",
    "healthcare",
    "retail",
    "auto",
    "entertainment",
    "real_estate",
)
MCAT = {c: i for i, c in enumerate(MERCHANT_CATEGORIES)}

# city -> region; branches are spread over these cities
CITIES = {
    "北京": "华北",
    "天津": "华北",
    "上海": "华东",
    "杭州": "华东",
    "南京": "华东",
    "苏州": "华东",
    "广州": "华南",
    "深圳": "华南",
    "成都": "西南",
    "重庆": "西南",
    "武汉": "华中",
    "西安": "西北",
}
BRANCH_DISTRICTS = ("中心", "东城", "西城", "南区", "北区", "高新", "开发区")


def branches(rng: np.random.Generator) -> list[tuple[str, str, str, str]]:
    """(branch_id, branch_name, city, region): 2-5 branches per city."""
    rows: list[tuple[str, str, str, str]] = []
    for city, region in CITIES.items():
        for district in BRANCH_DISTRICTS[: int(rng.integers(2, 6))]:
            rows.append((f"BR{len(rows) + 1:03d}", f"{city}{district}支行", city, region))
    return rows


CAMPAIGN_WINDOWS = {  # campaign_type -> (month of year, first day, length in days, name)
    "deposit_push": [
        (1, 1, 90, "开门红存款"),
        (6, 1, 30, "年中存款冲量"),
        (11, 15, 47, "年末存款冲量"),
    ],
    "cross_sell": [(4, 1, 45, "信用卡交叉销售")],
    "upgrade": [(9, 1, 60, "财富客户升级计划")],
    "retention": [(3, 1, 300, "客户挽留关怀")],
    "reactivation": [(5, 1, 120, "睡眠客户唤醒")],
}


def campaigns(calendar: Calendar, years_back: int = 3) -> list[tuple[str, str, str, str, str]]:
    """(campaign_id, name, type, start_date, end_date) for every window that touches
    the period or the ``years_back`` years before it (old deposit pushes opened the
    campaign time deposits that mature during the period)."""
    first_year = int(str(calendar.start)[:4]) - years_back
    last_year = int(str(calendar.start + calendar.n_days)[:4])
    rows = []
    for year in range(first_year, last_year + 1):
        for kind, windows in CAMPAIGN_WINDOWS.items():
            for month, day, length, name in windows:
                begin = np.datetime64(f"{year}-{month:02d}-{day:02d}")
                end = begin + length - 1
                if begin > calendar.start + calendar.n_days - 1:
                    continue
                if kind != "deposit_push" and end < calendar.start:
                    continue
                cid = f"{kind[:3].upper()}{year}{month:02d}"
                rows.append((cid, f"{year} {name}", kind, str(begin), str(end)))
    return sorted(rows)
