"""Private pydantic models of the Wix JSON this adapter reads (wire names of wix-api.md, camelCase).

Parsed at the edge by `WixClient`; lenient by design: unknown keys are ignored, absent fields get
Wix's documented defaults, revisions arrive as strings (or numbers, coerced).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class Wire(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
        coerce_numbers_to_str=True,
    )


class IdRef(Wire):
    id: str | None = None


# ---- errors (§1.4) ----


class FieldViolation(Wire):
    field: str | None = None
    description: str | None = None
    violated_rule: str | None = None
    rule_name: str | None = None


class ValidationDetails(Wire):
    field_violations: list[FieldViolation] = []


class ApplicationError(Wire):
    code: str | None = None
    description: str | None = None


class ErrorDetails(Wire):
    application_error: ApplicationError | None = None
    validation_error: ValidationDetails = ValidationDetails()


class ErrorEnvelope(Wire):
    message: str | None = None
    details: ErrorDetails | None = None


# ---- paging (§1.6) ----


class Cursors(Wire):
    next: str | None = None
    prev: str | None = None


class PagingMetadata(Wire):
    count: int | None = None
    offset: int | None = None
    total: int | None = None
    cursors: Cursors = Cursors()
    has_next: bool | None = None


# ---- services (§4.2) ----


class PageUrl(Wire):
    relative_path: str | None = None
    url: str | None = None


class ServiceUrls(Wire):
    booking_page: PageUrl | None = None
    service_page: PageUrl | None = None


class Money(Wire):
    value: Decimal | None = None
    currency: str | None = None


class FixedPayment(Wire):
    price: Money | None = None
    deposit: Money | None = None
    full_upfront_payment_allowed: bool = False  # the SDK's default (Verified correction 4)


class VariedPayment(Wire):
    default_price: Money | None = None
    deposit: Money | None = None


class PaymentOptions(Wire):
    online: bool | None = None
    in_person: bool | None = None
    deposit: bool | None = None


class Payment(Wire):
    rate_type: str | None = None
    fixed: FixedPayment | None = None
    varied: VariedPayment | None = None
    options: PaymentOptions = PaymentOptions()


class OnlineBooking(Wire):
    enabled: bool = True
    require_manual_approval: bool = False


class Toggle(Wire):
    enabled: bool = False


class Address(Wire):
    formatted_address: str | None = None
    address_line: str | None = None


class BusinessLocation(Wire):
    id: str | None = None
    name: str | None = None
    address: Address | None = None


class CustomLocation(Wire):
    id: str | None = None
    address: Address | None = None


class ServiceLocation(Wire):
    id: str | None = None
    type: str = "UNDEFINED"  # BUSINESS | CUSTOM | CUSTOMER
    business: BusinessLocation | None = None
    custom: CustomLocation | None = None
    calculated_address: Address | None = None


class CancellationPolicy(Wire):
    enabled: bool = False
    limit_latest_cancellation: bool = False
    latest_cancellation_in_minutes: int = 1440


class LimitEarlyBooking(Wire):
    enabled: bool = False
    earliest_booking_in_minutes: int | None = None


class LimitLateBooking(Wire):
    enabled: bool = False
    latest_booking_in_minutes: int | None = None


class BookingPolicy(Wire):
    id: str | None = None
    revision: str | None = None
    cancellation_policy: CancellationPolicy | None = None
    limit_early_booking_policy: LimitEarlyBooking = LimitEarlyBooking()
    limit_late_booking_policy: LimitLateBooking = LimitLateBooking()


class DurationMinutes(Wire):
    minutes: int


class AvailabilityConstraints(Wire):
    session_durations: list[int] = []
    durations: list[DurationMinutes] = []
    time_between_sessions: int = 0


class ServiceSchedule(Wire):
    id: str | None = None
    availability_constraints: AvailabilityConstraints = AvailabilityConstraints()


class StaffMemberDetail(Wire):
    staff_member_id: str
    name: str | None = None


class StaffMemberDetails(Wire):
    staff_members: list[StaffMemberDetail] = []


class Slug(Wire):
    name: str | None = None


class ExtendedFields(Wire):
    namespaces: dict[str, dict[str, Any]] = {}


class Service(Wire):
    id: str
    app_id: str | None = None
    created_by_app_id: str | None = None
    type: str | None = None
    name: str = ""
    revision: str | None = None
    online_booking: OnlineBooking = OnlineBooking()
    conferencing: Toggle = Toggle()
    phone_call: Toggle = Toggle()
    locations: list[ServiceLocation] = []
    payment: Payment | None = None
    booking_policy: BookingPolicy | None = None
    schedule: ServiceSchedule = ServiceSchedule()
    staff_member_ids: list[str] = []  # staff *resource* ids (Verified correction 1)
    staff_member_details: StaffMemberDetails | None = None
    form: IdRef | None = None  # the booking form (wix-forms.md §1.1)
    main_slug: Slug | None = None
    urls: ServiceUrls | None = None
    extended_fields: ExtendedFields = ExtendedFields()


class ServicesResponse(Wire):
    services: list[Service] = []
    paging_metadata: PagingMetadata = PagingMetadata()


class ServiceResponse(Wire):
    service: Service


# ---- availability time slots (§5) ----


class SlotLocation(Wire):
    id: str | None = None
    name: str | None = None
    formatted_address: str | None = None
    location_type: str | None = None


class TimeSlot(Wire):
    service_id: str | None = None
    local_start_date: str
    local_end_date: str
    bookable: bool | None = None
    remaining_capacity: int | None = None
    location: SlotLocation | None = None
    schedule_id: str | None = None


class TimeSlotsResponse(Wire):
    time_slots: list[TimeSlot] = []
    time_zone: str | None = None
    cursor_paging_metadata: PagingMetadata = PagingMetadata()


class TimeSlotResponse(Wire):
    time_slot: TimeSlot | None = None
    time_zone: str | None = None


# ---- bookings (§6, §7) ----


class BookingResource(Wire):
    id: str | None = None
    name: str | None = None


class BookingSlot(Wire):
    service_id: str | None = None
    schedule_id: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    timezone: str | None = None
    resource: BookingResource | None = None
    location: SlotLocation | None = None


class BookedEntity(Wire):
    slot: BookingSlot | None = None
    title: str | None = None


class ContactDetails(Wire):
    contact_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None


class Booking(Wire):
    id: str
    revision: str | None = None
    booked_entity: BookedEntity = BookedEntity()
    contact_details: ContactDetails = ContactDetails()
    status: str = "CREATED"
    payment_status: str = "UNDEFINED"
    selected_payment_option: str = "UNDEFINED"
    start_date: datetime | None = None
    end_date: datetime | None = None
    created_date: datetime | None = None
    app_id: str | None = None


class BookingResponse(Wire):
    booking: Booking


class ConferencingDetails(Wire):
    guest_url: str | None = None


class ExtendedBooking(Wire):
    booking: Booking
    conferencing_details: ConferencingDetails | None = None


class ExtendedBookingsResponse(Wire):
    extended_bookings: list[ExtendedBooking] = []
    paging_metadata: PagingMetadata = PagingMetadata()


class CountResponse(Wire):
    count: int = 0


class Checkout(Wire):
    id: str


class CheckoutResponse(Wire):
    checkout: Checkout


class CheckoutUrlResponse(Wire):
    checkout_url: str


# ---- staff members (§9) ----


class StaffResource(Wire):
    id: str | None = None
    events_schedule: IdRef | None = None


class IdentityConnection(Wire):
    status: str | None = None  # UNKNOWN | CONNECTED | PENDING | EXPIRED | DISCONNECTED


class AssociatedIdentity(Wire):
    connection: IdentityConnection | None = None


class StaffMember(Wire):
    id: str
    name: str = ""
    email: str | None = None
    resource_id: str | None = None
    resource: StaffResource | None = None
    associated_wix_identity: AssociatedIdentity | None = None


class StaffMemberResponse(Wire):
    staff_member: StaffMember


class StaffMembersResponse(Wire):
    staff_members: list[StaffMember] = []
    paging_metadata: PagingMetadata = PagingMetadata()


# ---- booking forms (wix-forms.md §1) ----


class ContactMapping(Wire):
    contact_field: str | None = None  # FIRST_NAME | LAST_NAME | EMAIL | PHONE | ...


class StringValidation(Wire):
    format: str | None = None


class StringOptions(Wire):
    validation: StringValidation = StringValidation()


class InputOptions(Wire):
    target: str | None = None  # the submission key
    required: bool = False
    input_type: str | None = None  # STRING | NUMBER | BOOLEAN | ARRAY | OBJECT | ...
    contact_mapping: ContactMapping | None = None
    string_options: StringOptions | None = None


class FormField(Wire):
    field_type: str | None = None  # INPUT | DISPLAY
    identifier: str | None = None  # e.g. CONTACTS_EMAIL
    input_options: InputOptions | None = None


class Form(Wire):
    id: str
    revision: str | None = None
    form_fields: list[FormField] = []


class FormResponse(Wire):
    form: Form


# ---- external calendars (§10) ----


class ProviderFeatures(Wire):
    connect_methods: list[str] = []


class Provider(Wire):
    id: str
    name: str = ""
    calendar_type: str = "UNDEFINED"
    features: ProviderFeatures = ProviderFeatures()


class ProvidersResponse(Wire):
    providers: list[Provider] = []


class OAuthResponse(Wire):
    oauth_url: str


class SyncDirection(Wire):
    enabled: bool | None = None
    # Which calendars: kept as read, so switching a direction on or off never changes them.
    primary_calendar: dict[str, object] | None = None
    calendars: dict[str, object] | None = None
    dedicated_calendar: dict[str, object] | None = None


class SyncConfig(Wire):
    list_event_from_calendars: SyncDirection = SyncDirection()
    sync_to_calendar: SyncDirection = SyncDirection()


class Connection(Wire):
    id: str
    provider_id: str | None = None
    calendar_type: str = "UNDEFINED"
    schedule_id: str | None = None
    external_account_email: str | None = None
    status: str = "UNDEFINED"
    sync_config: SyncConfig = SyncConfig()


class ConnectionResponse(Wire):
    connection: Connection


class ConnectionsResponse(Wire):
    connections: list[Connection] = []


# ---- Meetings provisioning (§3) ----


class Provisioning(Wire):
    booking_form_id: str | None = None
    booking_policy_id: str | None = None
    service_id: str | None = None


class ProvisioningResponse(Provisioning):
    """The wrapper key is unconfirmed (§3): accept `meetingsProvisioning` or top-level fields."""

    meetings_provisioning: Provisioning | None = Field(default=None)

    def unwrap(self) -> Provisioning:
        return self.meetings_provisioning or Provisioning(
            booking_form_id=self.booking_form_id,
            booking_policy_id=self.booking_policy_id,
            service_id=self.service_id,
        )


class Empty(Wire):
    pass
