export { createCourier, type Courier, type CourierOptions } from './courier';
export { attemptClock, attemptDeadline } from './deadline';
