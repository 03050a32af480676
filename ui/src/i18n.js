// Words, error messages and number/date formats in English and Norwegian bokmål. Pure
// functions: tested with node --test, no browser needed.
//
// Money arrives as integer minor units with its currency ({amount, currency}); it is
// turned into an exact decimal string and formatted by Intl from that string, so no
// amount is ever a floating-point number here.

const en = {
  "app.training": "TRAINING — practice cards, no real money",
  "app.cannot_start": "The terminal cannot start",
  "nav.sell": "Sell card",
  "nav.balance": "Balance",
  "nav.redeem": "Redeem",
  "nav.topup": "Top up",
  "nav.history": "History",
  "nav.settings": "Settings",
  "nav.sign_out": "Sign out",
  "signin.title": "Sign in",
  "signin.number": "Clerk number",
  "signin.pin": "PIN",
  "signin.submit": "Sign in",
  "signin.training_hint": "Training: clerk 1 (PIN 1111), manager 9 (PIN 9999).",
  "field.card": "Card",
  "field.card_hint": "Scan the card, or type the number printed on it",
  "field.card_scanned": "Scanned card {card}",
  "field.amount": "Amount",
  "field.pin": "Customer's PIN",
  "field.txid": "Payment reference (dintero_transaction_id)",
  "field.txid_hint": "Scan or type the payment's transaction id",
  "field.tender": "Paid with",
  "field.tender_ref": "Card terminal reference",
  "field.tender_ref_hint": "The reference on the card terminal's receipt",
  "tender.dintero": "Dintero payment",
  "tender.cash": "Cash",
  "tender.card_terminal": "Card terminal",
  "topup.override_what": "top up without a payment that can be shown",
  "keypad.clear": "Clear",
  "keypad.back": "⌫",
  "sell.title": "Sell a gift card",
  "sell.submit": "Activate card",
  "sell.done": "Card sold and active",
  "sell.pay_dintero": "Pay with Dintero (QR)",
  "pay.title": "Waiting for the customer to pay",
  "pay.hint": "The customer scans the code with their phone and pays {amount}. The card is activated when the payment is through.",
  "pay.cancel": "Cancel payment",
  "customer.pay": "Scan to pay",
  "customer.scan": "Scan the code with your phone's camera and pay there.",
  "customer.thanks": "Thank you!",
  "customer.balance": "Your gift card's balance: {amount}",
  "history.return": "Return card (refund payment)…",
  "balance.title": "Check balance",
  "balance.submit": "Check balance",
  "balance.available": "Available",
  "balance.balance": "Balance",
  "balance.pending": "Reserved",
  "balance.status": "Status",
  "balance.expires": "Expires",
  "balance.never": "never",
  "balance.hidden": "Enter the PIN to see the amounts",
  "balance.last_known": "Dintero cannot be reached: last known balance, {age} old",
  "redeem.title": "Redeem",
  "redeem.submit": "Reserve amount",
  "redeem.full": "Whole balance",
  "redeem.reserved": "Reserved {amount} on card {card}",
  "redeem.reserved_offline": "Reserved offline (will sync): {amount} on card {card}",
  "redeem.complete": "Complete sale",
  "redeem.cancel": "Cancel — release the money",
  "redeem.completed": "Sale completed",
  "redeem.cancelled": "Cancelled — nothing was charged",
  "topup.title": "Top up a card",
  "topup.submit": "Top up",
  "topup.done": "Card topped up",
  "result.done": "Done",
  "result.saved": "Saved — will sync",
  "result.saved_hint": "Dintero cannot be reached. The operation is saved on this terminal and is sent when the network returns. Give the customer the receipt.",
  "result.confirmed_now": "Confirmed by Dintero",
  "result.new_balance": "New balance",
  "result.amount": "Amount",
  "result.card": "Card",
  "result.entry": "Entry",
  "result.receipt": "Print receipt",
  "result.receipt_saved": "Receipt saved: {path}",
  "result.receipt_printed": "Receipt printed (job {job})",
  "result.next": "Next customer",
  "history.title": "Today's history",
  "history.filter": "Show",
  "history.all": "All",
  "history.pending": "Waiting to sync",
  "history.needs_attention": "Needs attention",
  "history.confirmed": "Confirmed",
  "history.refused": "Refused",
  "history.empty": "Nothing yet today.",
  "history.undo": "Void / refund…",
  "history.approved_by": "Approved by",
  "history.reason": "Reason",
  "history.clerk": "Clerk",
  "history.time": "Time",
  "history.transaction": "Dintero transaction",
  "history.payment": "Payment reference",
  "history.attempts": "Attempts",
  "approve.title": "Manager approval",
  "approve.text": "A manager signs in to approve: {what}",
  "approve.number": "Manager number",
  "approve.pin": "Manager PIN",
  "approve.submit": "Approve",
  "approve.cancel": "Cancel",
  "approve.reason": "Reason",
  "sell.override": "Manager override…",
  "sell.override_what": "sell without a verified payment",
  "settings.title": "Settings",
  "settings.readonly": "Set by IT in the configuration file; read-only here.",
  "settings.doctor": "Diagnostics",
  "state.recorded": "Saved — will sync",
  "state.sent": "Sent — waiting for Dintero",
  "state.confirmed": "Confirmed",
  "state.refused": "Refused",
  "state.needs_attention": "Needs attention",
  "kind.activate": "Sold card",
  "kind.top_up": "Top-up",
  "kind.redeem": "Redemption",
  "kind.capture": "Completed sale",
  "kind.void": "Void",
  "kind.refund": "Refund",
  "kind.payment": "Payment (Dintero)",
  "kind.payment_refund": "Payment refunded",
  "status.online": "Online",
  "status.offline": "OFFLINE",
  "status.pending": "Waiting to sync: {n}",
  "status.oldest": "oldest {age}",
  "status.attention": "Needs attention: {n}",
  "status.unreadable": "Dintero's answers cannot be read — call IT",
  "idle.warning": "No activity: signing out in {n} s — touch the screen or press a key to stay",
  "idle.signed_out": "Signed out after a while without activity",
  "kiosk.leave": "Leave kiosk mode…",
  "kiosk.leave_what": "close the till app (kiosk mode)",
  "status.scanner_ok": "Scanner connected",
  "status.scanner_lost": "SCANNER DISCONNECTED",
  "status.scanner_keyboard": "Scanner: keyboard",
  "status.clerk": "Clerk {name}",
  "status.not_signed_in": "Not signed in",
  "card_status.inactive": "Not sold yet",
  "card_status.created": "Not sold yet",
  "card_status.unused": "Active, never used",
  "card_status.active": "Active",
  "card_status.expired": "Expired",
  "scan.not_a_gift_card": "That barcode is not a gift card.",
  "scan.near_miss": "Almost a gift card number — scan again.",
  "common.back": "Back (Esc)",
  "common.working": "Working…",
  "common.next_step": "What to do",
};

const nb = {
  "app.training": "ØVELSE — øvingskort, ingen ekte penger",
  "app.cannot_start": "Terminalen kan ikke starte",
  "nav.sell": "Selg kort",
  "nav.balance": "Saldo",
  "nav.redeem": "Løs inn",
  "nav.topup": "Fyll på",
  "nav.history": "Historikk",
  "nav.settings": "Innstillinger",
  "nav.sign_out": "Logg ut",
  "signin.title": "Logg inn",
  "signin.number": "Ekspeditørnummer",
  "signin.pin": "PIN",
  "signin.submit": "Logg inn",
  "signin.training_hint": "Øvelse: ekspeditør 1 (PIN 1111), leder 9 (PIN 9999).",
  "field.card": "Kort",
  "field.card_hint": "Skann kortet, eller skriv nummeret som står på det",
  "field.card_scanned": "Skannet kort {card}",
  "field.amount": "Beløp",
  "field.pin": "Kundens PIN",
  "field.txid": "Betalingsreferanse (dintero_transaction_id)",
  "field.txid_hint": "Skann eller skriv betalingens transaksjons-ID",
  "field.tender": "Betalt med",
  "field.tender_ref": "Referanse fra kortterminalen",
  "field.tender_ref_hint": "Referansen på kvitteringen fra kortterminalen",
  "tender.dintero": "Dintero-betaling",
  "tender.cash": "Kontant",
  "tender.card_terminal": "Kortterminal",
  "topup.override_what": "fylle på uten betaling som kan vises",
  "keypad.clear": "Tøm",
  "keypad.back": "⌫",
  "sell.title": "Selg et gavekort",
  "sell.submit": "Aktiver kortet",
  "sell.done": "Kortet er solgt og aktivt",
  "sell.pay_dintero": "Betal med Dintero (QR)",
  "pay.title": "Venter på at kunden betaler",
  "pay.hint": "Kunden skanner koden med telefonen og betaler {amount}. Kortet aktiveres når betalingen er gjennomført.",
  "pay.cancel": "Avbryt betalingen",
  "customer.pay": "Skann for å betale",
  "customer.scan": "Skann koden med mobilkameraet og betal der.",
  "customer.thanks": "Takk!",
  "customer.balance": "Saldo på gavekortet: {amount}",
  "history.return": "Returner kort (refunder betaling)…",
  "balance.title": "Sjekk saldo",
  "balance.submit": "Sjekk saldo",
  "balance.available": "Tilgjengelig",
  "balance.balance": "Saldo",
  "balance.pending": "Reservert",
  "balance.status": "Status",
  "balance.expires": "Utløper",
  "balance.never": "aldri",
  "balance.hidden": "Tast PIN for å se beløpene",
  "balance.last_known": "Dintero svarer ikke: sist kjente saldo, {age} gammel",
  "redeem.title": "Løs inn",
  "redeem.submit": "Reserver beløp",
  "redeem.full": "Hele saldoen",
  "redeem.reserved": "Reservert {amount} på kort {card}",
  "redeem.reserved_offline": "Reservert frakoblet (synkes senere): {amount} på kort {card}",
  "redeem.complete": "Fullfør salget",
  "redeem.cancel": "Avbryt — frigi pengene",
  "redeem.completed": "Salget er fullført",
  "redeem.cancelled": "Avbrutt — ingenting er trukket",
  "topup.title": "Fyll på et kort",
  "topup.submit": "Fyll på",
  "topup.done": "Kortet er fylt på",
  "result.done": "Ferdig",
  "result.saved": "Lagret — synkes senere",
  "result.saved_hint": "Dintero svarer ikke. Operasjonen er lagret på terminalen og sendes når nettet er tilbake. Gi kunden kvitteringen.",
  "result.confirmed_now": "Bekreftet av Dintero",
  "result.new_balance": "Ny saldo",
  "result.amount": "Beløp",
  "result.card": "Kort",
  "result.entry": "Oppføring",
  "result.receipt": "Skriv ut kvittering",
  "result.receipt_saved": "Kvittering lagret: {path}",
  "result.receipt_printed": "Kvittering skrevet ut (jobb {job})",
  "result.next": "Neste kunde",
  "history.title": "Dagens historikk",
  "history.filter": "Vis",
  "history.all": "Alle",
  "history.pending": "Venter på synk",
  "history.needs_attention": "Må følges opp",
  "history.confirmed": "Bekreftet",
  "history.refused": "Avvist",
  "history.empty": "Ingenting ennå i dag.",
  "history.undo": "Annuller / refunder…",
  "history.approved_by": "Godkjent av",
  "history.reason": "Årsak",
  "history.clerk": "Ekspeditør",
  "history.time": "Tid",
  "history.transaction": "Dintero-transaksjon",
  "history.payment": "Betalingsreferanse",
  "history.attempts": "Forsøk",
  "approve.title": "Godkjenning av leder",
  "approve.reason": "Begrunnelse",
  "sell.override": "Overstyring (leder)…",
  "sell.override_what": "selge uten verifisert betaling",
  "approve.text": "En leder logger inn for å godkjenne: {what}",
  "approve.number": "Ledernummer",
  "approve.pin": "Lederens PIN",
  "approve.submit": "Godkjenn",
  "approve.cancel": "Avbryt",
  "settings.title": "Innstillinger",
  "settings.readonly": "Satt av IT i konfigurasjonsfilen; kan bare leses her.",
  "settings.doctor": "Diagnose",
  "state.recorded": "Lagret — synkes senere",
  "state.sent": "Sendt — venter på Dintero",
  "state.confirmed": "Bekreftet",
  "state.refused": "Avvist",
  "state.needs_attention": "Må følges opp",
  "kind.activate": "Solgt kort",
  "kind.top_up": "Påfylling",
  "kind.redeem": "Innløsning",
  "kind.capture": "Fullført salg",
  "kind.void": "Annullering",
  "kind.refund": "Refusjon",
  "kind.payment": "Betaling (Dintero)",
  "kind.payment_refund": "Betaling refundert",
  "status.online": "Tilkoblet",
  "status.offline": "FRAKOBLET",
  "status.pending": "Venter på synk: {n}",
  "status.oldest": "eldste {age}",
  "status.attention": "Må følges opp: {n}",
  "status.unreadable": "Svarene fra Dintero kan ikke leses — ring IT",
  "idle.warning": "Ingen aktivitet: logger ut om {n} s — trykk på skjermen eller en tast for å bli",
  "idle.signed_out": "Logget ut etter en stund uten aktivitet",
  "kiosk.leave": "Avslutt kioskmodus…",
  "kiosk.leave_what": "lukke kasseprogrammet (kioskmodus)",
  "status.scanner_ok": "Skanner tilkoblet",
  "status.scanner_lost": "SKANNER FRAKOBLET",
  "status.scanner_keyboard": "Skanner: tastatur",
  "status.clerk": "Ekspeditør {name}",
  "status.not_signed_in": "Ikke logget inn",
  "card_status.inactive": "Ikke solgt",
  "card_status.created": "Ikke solgt",
  "card_status.unused": "Aktivt, ikke brukt",
  "card_status.active": "Aktivt",
  "card_status.expired": "Utløpt",
  "scan.not_a_gift_card": "Strekkoden er ikke et gavekort.",
  "scan.near_miss": "Nesten et gavekortnummer — skann på nytt.",
  "common.back": "Tilbake (Esc)",
  "common.working": "Arbeider…",
  "common.next_step": "Hva du gjør",
};

// Error messages by stable error code: what happened, and what to do next.
const errors = {
  en: {
    invalid_amount: ["That amount is not valid.", "Enter the amount again, e.g. 500 or 120.50."],
    invalid_card: ["That card number is not valid.", "Scan the card again, or type the number printed on it."],
    not_a_gift_card: ["That is not a gift card.", "Scan the gift card's barcode, not a product's."],
    invalid_pin_entry: ["The PIN was not entered correctly.", "Ask the customer to enter the PIN again."],
    invalid_input: ["Something entered is not valid.", "Check what was entered and try again."],
    config: ["The terminal is not set up correctly.", "Ask IT to fix the configuration; `giftpos doctor` shows what is wrong."],
    pin_invalid: ["Wrong PIN.", "Ask the customer to enter the PIN again."],
    pin_required: ["The card's PIN is needed.", "Ask the customer for the card's PIN."],
    pin_locked: ["Too many wrong PINs: the card is locked for a while.", "Try later, or ask a manager."],
    insufficient_funds: ["Not enough money on the card.", "Check the balance and redeem a smaller amount; take the rest by another payment."],
    card_inactive: ["This card was never sold.", "Sell (activate) it first."],
    card_expired: ["The card has expired.", "It cannot be used. Ask a manager."],
    card_not_yet_active: ["The card is not valid yet.", "Check its start date."],
    card_already_active: ["This card is already sold.", "Take another card from stock."],
    activation_conflict: ["The card was activated by another sale.", "Keep the payment apart and call a manager."],
    card_unknown: ["No card has this number.", "Check the number, or scan again."],
    currency_mismatch: ["The card is in another currency.", "It cannot be used here."],
    transaction_not_found: ["The transaction is unknown.", "Look it up in History."],
    transaction_not_pending: ["The reservation was already completed or cancelled.", "Look it up in History."],
    capture_exceeds_pending: ["That is more than was reserved.", "Complete at most the reserved amount."],
    rejected: ["Dintero refused the request.", "Note the entry and call support."],
    credentials: ["The terminal cannot sign in to Dintero.", "Ask IT to check the Dintero API client (id, secret, account)."],
    offline: ["Dintero cannot be reached.", "Check the network; try again shortly."],
    tls: ["The secure connection failed.", "Ask IT to check the network and the clock."],
    storage_full: ["The terminal's disk is full: nothing was recorded or sent.", "Call IT; take another payment method."],
    journal_unreadable: ["The terminal's journal cannot be read.", "Do not delete it: call support."],
    offline_not_allowed: ["Dintero cannot be reached and this cannot be done offline.", "Take another payment method, or wait."],
    sign_in_failed: ["Wrong clerk number or PIN.", "Check them and try again."],
    clerk_locked: ["Too many wrong PINs: this clerk is locked for a few minutes.", "Wait, or ask a manager."],
    not_signed_in: ["Nobody is signed in.", "Sign in with your clerk number and PIN."],
    manager_required: ["A manager must approve this.", "Ask a manager to sign in on the dialog."],
    update_refused: ["An update was refused: its signature did not verify.", "Nothing was installed. Tell IT."],
    payment_not_completed: ["The payment was not completed: the card was not activated.", "Take payment again, or choose another payment method."],
    card_used: ["The card has been used and cannot be returned.", "A manager can refund the remaining balance another way."],
    dintero_unreadable: ["Dintero's answers cannot be read — call IT.", "What was recorded is kept and checked at Dintero before anything is sent again."],
    card_refused: ["Dintero refused this for the card.", "Check the card and the amount, or take another payment method."],
    payment_unverified: ["The payment could not be verified: the card was not activated.", "Check the payment reference, or take payment again. A manager can override with a reason."],
    tender_not_allowed: ["This payment is not accepted here for gift cards.", "Take the payment another way, or ask a manager to override with a reason."],
    payment_required: ["A payment is needed.", "Give the payment's reference (Dintero's, or the card terminal's receipt), or choose how it was paid."],
    internal: ["Something went wrong in the terminal.", "Restart it; if it repeats, call support."],
  },
  nb: {
    invalid_amount: ["Beløpet er ikke gyldig.", "Tast beløpet på nytt, f.eks. 500 eller 120,50."],
    invalid_card: ["Kortnummeret er ikke gyldig.", "Skann kortet på nytt, eller skriv nummeret som står på det."],
    not_a_gift_card: ["Det er ikke et gavekort.", "Skann gavekortets strekkode, ikke en vares."],
    invalid_pin_entry: ["PIN ble ikke tastet riktig.", "Be kunden taste PIN på nytt."],
    invalid_input: ["Noe som ble tastet er ikke gyldig.", "Sjekk det som ble tastet og prøv igjen."],
    config: ["Terminalen er ikke satt opp riktig.", "Be IT rette konfigurasjonen; `giftpos doctor` viser hva som er galt."],
    pin_invalid: ["Feil PIN.", "Be kunden taste PIN på nytt."],
    pin_required: ["Kortets PIN trengs.", "Be kunden om kortets PIN."],
    pin_locked: ["For mange feil PIN: kortet er sperret en stund.", "Prøv senere, eller spør en leder."],
    insufficient_funds: ["Det er ikke nok penger på kortet.", "Sjekk saldoen og løs inn et mindre beløp; ta resten med annen betaling."],
    card_inactive: ["Kortet er aldri solgt.", "Selg (aktiver) det først."],
    card_expired: ["Kortet er utløpt.", "Det kan ikke brukes. Spør en leder."],
    card_not_yet_active: ["Kortet er ikke gyldig ennå.", "Sjekk startdatoen."],
    card_already_active: ["Kortet er allerede solgt.", "Ta et annet kort fra lageret."],
    activation_conflict: ["Kortet ble aktivert av et annet salg.", "Hold betalingen til side og ring en leder."],
    card_unknown: ["Ingen kort har dette nummeret.", "Sjekk nummeret, eller skann på nytt."],
    currency_mismatch: ["Kortet er i en annen valuta.", "Det kan ikke brukes her."],
    transaction_not_found: ["Transaksjonen er ukjent.", "Slå den opp i historikken."],
    transaction_not_pending: ["Reservasjonen er allerede fullført eller avbrutt.", "Slå den opp i historikken."],
    capture_exceeds_pending: ["Det er mer enn det som ble reservert.", "Fullfør høyst det reserverte beløpet."],
    rejected: ["Dintero avviste forespørselen.", "Noter oppføringen og ring kundestøtte."],
    credentials: ["Terminalen får ikke logget inn hos Dintero.", "Be IT sjekke Dintero-klienten (id, hemmelighet, konto)."],
    offline: ["Dintero svarer ikke.", "Sjekk nettverket; prøv igjen om litt."],
    tls: ["Den sikre forbindelsen feilet.", "Be IT sjekke nettverket og klokken."],
    storage_full: ["Terminalens disk er full: ingenting ble lagret eller sendt.", "Ring IT; ta annen betaling."],
    journal_unreadable: ["Terminalens journal kan ikke leses.", "Ikke slett den: ring kundestøtte."],
    offline_not_allowed: ["Dintero svarer ikke, og dette kan ikke gjøres frakoblet.", "Ta annen betaling, eller vent."],
    sign_in_failed: ["Feil ekspeditørnummer eller PIN.", "Sjekk dem og prøv igjen."],
    clerk_locked: ["For mange feil PIN: ekspeditøren er sperret noen minutter.", "Vent, eller spør en leder."],
    not_signed_in: ["Ingen er logget inn.", "Logg inn med ekspeditørnummer og PIN."],
    manager_required: ["En leder må godkjenne dette.", "Be en leder logge inn i dialogen."],
    update_refused: ["En oppdatering ble avvist: signaturen stemte ikke.", "Ingenting ble installert. Si fra til IT."],
    payment_not_completed: ["Betalingen ble ikke fullført: kortet ble ikke aktivert.", "Ta betalt på nytt, eller velg en annen betalingsmåte."],
    card_used: ["Kortet er brukt og kan ikke returneres.", "En leder kan refundere restbeløpet på annen måte."],
    dintero_unreadable: ["Svarene fra Dintero kan ikke leses — ring IT.", "Det som er registrert, beholdes og sjekkes hos Dintero før noe sendes på nytt."],
    card_refused: ["Dintero avviste dette for kortet.", "Sjekk kortet og beløpet, eller ta betalt på en annen måte."],
    payment_unverified: ["Betalingen kunne ikke bekreftes: kortet ble ikke aktivert.", "Sjekk betalingsreferansen, eller ta betalt på nytt. En leder kan overstyre med en begrunnelse."],
    tender_not_allowed: ["Denne betalingen tas ikke imot for gavekort her.", "Ta betalt på en annen måte, eller be en leder overstyre med en begrunnelse."],
    payment_required: ["En betaling trengs.", "Oppgi betalingens referanse (Dinteros, eller fra kortterminalens kvittering), eller velg hvordan det ble betalt."],
    internal: ["Noe gikk galt i terminalen.", "Start den på nytt; ring kundestøtte hvis det gjentar seg."],
  },
};

const dictionaries = { en, nb };

export const LANGUAGES = Object.keys(dictionaries);

/** The BCP 47 tag Intl uses for a terminal locale. */
export const localeTag = (locale) => (locale === "nb" ? "nb-NO" : "en-GB");

/** A translator for one language: t(key, {params}). Unknown keys show the key itself. */
export function translator(locale) {
  const dict = dictionaries[locale] ?? en;
  return (key, params = {}) => {
    const text = dict[key] ?? en[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, k) => (k in params ? String(params[k]) : `{${k}}`));
  };
}

/** Codes whose message is Dintero's own reason (redacted of card numbers in the core). */
const QUOTED = new Set(["card_refused", "payment_unverified", "tender_not_allowed"]);

/**
 * An error's clerk-readable message and next step, chosen by its code (never its raw
 * text) — except that a card refusal Dintero gave in its own words also carries those
 * words (`quote`), since we cannot name its reason ourselves.
 */
export function errorText(locale, err) {
  const table = errors[locale] ?? errors.en;
  const code = err && typeof err === "object" ? err.code : undefined;
  const [what, next] = table[code] ?? table.internal;
  const quote = QUOTED.has(code) && typeof err.message === "string" ? err.message : undefined;
  return { code: code ?? "internal", what, next, quote };
}

/** The error codes the UI has words for (checked against the Rust enum in a test). */
export const ERROR_CODES = Object.freeze(Object.keys(errors.en));

/** An integer count of minor units as an exact decimal string ("12345", 2 → "123.45"). */
export function minorToDecimal(minor, exponent) {
  if (!Number.isSafeInteger(minor)) throw new TypeError(`not an integer amount: ${minor}`);
  const negative = minor < 0;
  const digits = String(negative ? -minor : minor).padStart(exponent + 1, "0");
  const whole = exponent > 0 ? digits.slice(0, digits.length - exponent) : digits;
  const fraction = exponent > 0 ? `.${digits.slice(digits.length - exponent)}` : "";
  return `${negative ? "-" : ""}${whole}${fraction}`;
}

/** Money ({amount, currency} in minor units) for the clerk, e.g. "NOK 1,234.50" / "1 234,50 NOK". */
export function formatMoney(money, locale, exponent = 2) {
  if (!money) return "—";
  const fmt = new Intl.NumberFormat(localeTag(locale), {
    style: "currency",
    currency: money.currency,
    currencyDisplay: "code",
    minimumFractionDigits: exponent,
    maximumFractionDigits: exponent,
  });
  return fmt.format(minorToDecimal(money.amount, exponent));
}

/** A date and time in the terminal's language, in the machine's time zone. */
export function formatDateTime(iso, locale) {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(localeTag(locale), { dateStyle: "short", timeStyle: "short" }).format(new Date(iso));
}

export function formatTime(iso, locale) {
  return new Intl.DateTimeFormat(localeTag(locale), { timeStyle: "short" }).format(new Date(iso));
}

/** A duration in seconds, short: "45 s", "12 min", "3 h". */
export function formatAge(secs, locale) {
  const nb = locale === "nb";
  if (secs < 60) return `${secs} s`;
  if (secs < 3600) return `${Math.floor(secs / 60)} min`;
  return nb ? `${Math.floor(secs / 3600)} t` : `${Math.floor(secs / 3600)} h`;
}

/** Every key, so a test can check both languages have the same words. */
export const KEYS = Object.freeze({ en: Object.keys(en), nb: Object.keys(nb) });
